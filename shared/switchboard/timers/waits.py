"""Starting and stopping timer executions, and how long a timer's Wait state waits.

Step Functions' ``SecondsPath`` takes whole seconds, and a due time rarely falls on one, so each timer says which
way to round:

* a snooze rounds to the nearest second: it wakes within half a second of its due time either way, where rounding up
  would make the average snooze half a second late and some a whole second (waking 09:59:59.6 for 10:00 is unseen);
* a deadline rounds up: a task must never be called overdue before its deadline has passed.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from ..domain import clock


def seconds_until(due: str, now: datetime, *, never_early: bool = False) -> int:
    """Whole seconds from ``now`` to the ISO instant ``due`` (0 if it has passed)."""
    seconds = (clock.parse_iso(due) - now).total_seconds()
    return max(0, math.ceil(seconds) if never_early else round(seconds))


def start_once(sfn: Any, state_machine_arn: str, name: str, payload: dict) -> None:
    """Start the execution ``name``; starting it again (a redelivered stream record) is harmless."""
    try:
        sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload, sort_keys=True))
    except sfn.exceptions.ExecutionAlreadyExists:
        pass


def stop_quietly(sfn: Any, state_machine_arn: str, name: str, cause: str) -> None:
    """Cancel a replaced timer. Its version guard makes this an optimisation, not a requirement."""
    execution_arn = state_machine_arn.replace(":stateMachine:", ":execution:") + ":" + name
    try:
        sfn.stop_execution(executionArn=execution_arn, cause=cause)
    except ClientError as exc:  # already finished or never started: nothing left to cancel
        if exc.response["Error"]["Code"] not in ("ExecutionDoesNotExist", "ValidationException"):
            raise
