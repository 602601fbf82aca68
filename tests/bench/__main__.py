"""`make bench`: every benchmark, with figures printed for the record (never asserted in the test suite)."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from tests.bench import imports, ingest, snooze, timers, views


def main() -> None:
    os.environ.setdefault("TZ", "UTC")
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # one log line per message would be measured too
    logging.disable(logging.INFO)
    imports.run()
    print()
    from infra.devstack.stack import LocalStack

    stack = LocalStack().start(gateway_port=0, seed=True, state_file=Path(tempfile.mkdtemp()) / "stack.json")
    try:
        print(f"local stack started in {stack.startup_seconds:.1f} s")
        snooze.run(stack)  # first: it needs the pumps, which the ingest benchmark stops
        print()
        timers.run(stack)  # Step Functions transitions per SLA clock and per snooze: needs the pumps too
        print()
        ingest.run(stack)  # stops the pumps: the views benchmark fills its tenant in bulk, not through the stream
        print()
        views.run(stack)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
