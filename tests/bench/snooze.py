"""Snooze wake-up lateness on the local stack (budget: under a second): conversations snoozed for a few seconds through
the API, each woken by its own Step Functions execution. Two figures per snooze, against the time it was due:

* written: when the execution's conditional update succeeded (its history);
* observed: when the conversation's change reached a stream consumer, as the operators' lists and sockets get it.

Printed for the record, never asserted.
"""

from __future__ import annotations

import statistics
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

SNOOZES = 30
AHEAD = 4.0  # seconds between the snooze and its wake-up
OWNER = "owner@acme.example"


def run(stack: Any) -> dict[str, dict[str, float]]:
    from tests.integration.helpers import TelegramCustomer, demo_operator, eventually

    owner = demo_operator(stack, OWNER)
    customers = [TelegramCustomer(stack, 7_700_000 + n, first_name=f"Bench sleeper {n}") for n in range(SNOOZES)]
    for customer in customers:
        customer.says("wake me up")
    assert stack.wait_idle(60)
    names = {customer.first_name for customer in customers}
    rows = eventually(lambda: [row for row in owner.conversations(status="open", limit=100)
                               if row["contact"]["name"] in names])
    ids = [row["id"] for row in rows]
    assert len(ids) == SNOOZES, f"{len(ids)} of {SNOOZES} conversations opened"
    observed = _observe_wakes(stack, set(ids))
    due: dict[str, datetime] = {}
    for n, conversation_id in enumerate(ids):  # due times spread over a second, as real ones fall anywhere in it
        due[conversation_id] = datetime.now(UTC) + timedelta(seconds=AHEAD + n / len(ids))
        answer = owner.post(f"/v1/conversations/{conversation_id}/snooze",
                            {"until": due[conversation_id].isoformat(timespec="milliseconds")})
        assert answer.status_code == 200, answer.text
    deadline = time.monotonic() + AHEAD + 30
    while len(observed) < len(ids) and time.monotonic() < deadline:
        time.sleep(0.05)
    written = _written(stack, due)
    print(f"snooze wake-up lateness: {len(ids)} conversations snoozed for {AHEAD:.0f} s (budget < 1 s)")
    figures = {"written": _report("written (the execution's update)", written, due),
               "observed": _report("observed (the change on the stream)", observed, due)}
    return figures


def _observe_wakes(stack: Any, wanted: set[str]) -> dict[str, datetime]:
    """A probe on the conversations stream: when each wanted conversation went from snoozed to open."""
    seen: dict[str, datetime] = {}
    lock = threading.Lock()

    def probe(event: dict) -> dict:
        at = datetime.now(UTC)
        for record in event["Records"]:
            images = record["dynamodb"]
            new, old = images.get("NewImage", {}), images.get("OldImage", {})
            conversation_id = new.get("conversation_id", {}).get("S")
            if conversation_id in wanted and old.get("status", {}).get("S") == "snoozed" \
                    and new.get("status", {}).get("S") == "open":
                with lock:
                    seen.setdefault(conversation_id, at)
        return {"batchItemFailures": []}

    stack.pumps.add_stream_consumer("bench-snooze-wakes", stack.outputs["ConversationsStreamArn"], probe)
    return seen


def _written(stack: Any, due: dict[str, datetime]) -> dict[str, datetime]:
    """When each execution's Wake update succeeded, from its history."""
    sfn = boto3.client("stepfunctions")
    arn = stack.outputs["SnoozeStateMachineArn"].replace(":stateMachine:", ":execution:")
    found = {}
    for conversation_id in due:
        history = sfn.get_execution_history(executionArn=f"{arn}:{conversation_id}-snooze-1")["events"]
        exits = [e["timestamp"] for e in history
                 if e.get("stateExitedEventDetails", {}).get("name") == "Wake"]
        if exits:
            found[conversation_id] = exits[0].astimezone(UTC)
    return found


def _report(label: str, at: dict[str, datetime], due: dict[str, datetime]) -> dict[str, float]:
    late = sorted((moment - due[key]).total_seconds() for key, moment in at.items())
    if not late:
        print(f"  {label}: nothing woke")
        return {}
    p95 = late[max(0, int(len(late) * 0.95) - 1)]
    figures = {"p50_s": statistics.median(late), "p95_s": p95, "max_s": late[-1], "min_s": late[0],
               "woken": len(late)}
    print(f"  {label}: p50 {figures['p50_s']:.3f} s   p95 {p95:.3f} s   max {late[-1]:.3f} s   "
          f"min {late[0]:.3f} s   ({len(late)}/{len(due)} woke)")
    return figures
