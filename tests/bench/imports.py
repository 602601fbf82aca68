"""Cold import time of each function module in a fresh interpreter, as a ratio to a bare ``import boto3``."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ["api", "webhooks", "realtime", "fanout", "reactions", "outbound"]
RUNS = 7

_PROBE = """
import time, importlib.util, sys
start = time.perf_counter()
{body}
print(time.perf_counter() - start)
"""


def _measure(body: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "shared"), "PYTHONDONTWRITEBYTECODE": "1",
           "AWS_DEFAULT_REGION": "us-east-1"}
    samples = []
    for _ in range(RUNS):
        out = subprocess.run([sys.executable, "-c", _PROBE.format(body=body)], env=env, capture_output=True,
                             text=True, check=True, cwd=ROOT)
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def function_import(name: str) -> str:
    path = ROOT / "functions" / name / "app.py"
    return (f"spec = importlib.util.spec_from_file_location('fn_{name}', r'{path}')\n"
            "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)")


def run() -> dict[str, float]:
    baseline = _measure("import boto3")
    results = {"boto3_seconds": baseline}
    print(f"cold import, median of {RUNS} fresh interpreters")
    print(f"  {'import boto3':<22} {baseline * 1000:7.1f} ms   1.00x")
    for name in FUNCTIONS:
        seconds = _measure(function_import(name))
        results[name] = seconds / baseline
        print(f"  {'functions/' + name:<22} {seconds * 1000:7.1f} ms   {seconds / baseline:.2f}x")
    return results


if __name__ == "__main__":
    run()
