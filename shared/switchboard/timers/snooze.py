"""Starting and stopping snooze executions. The state machine itself lives in infra/statemachines/snooze.asl.json."""

from __future__ import annotations

import json
from datetime import datetime

from botocore.exceptions import ClientError

from ..domain import clock
from ..domain.conversation import Conversation
from ..store.keys import activity_key, status_key
from .waits import seconds_until


class SnoozeTimers:
    def __init__(self, sfn_client: object, state_machine_arn: str) -> None:
        self._sfn = sfn_client
        self._arn = state_machine_arn

    @staticmethod
    def execution_name(conversation_id: str, snooze_version: int) -> str:
        return f"{conversation_id}-snooze-{snooze_version}"

    def start(self, conversation: Conversation, now: datetime) -> None:
        """Start the wake-up; repeating it (a redelivered stream record) is harmless."""
        until = conversation.snoozed_until or clock.iso(now)
        seconds = seconds_until(until, now)
        payload = {
            "tenant_id": conversation.tenant_id,
            "conversation_id": conversation.id,
            "seconds": seconds,
            "snooze_version": str(conversation.snooze_version),
            "wake": {  # the list keys the conversation gets when it wakes: it returns at its snooze time
                "tenant_status": f"{conversation.tenant_id}#open",
                "activity_key": activity_key(until, conversation.id),
                "status_key": status_key("open", until, conversation.id),
                "at": until,
            },
        }
        try:
            self._sfn.start_execution(  # type: ignore[attr-defined]
                stateMachineArn=self._arn,
                name=self.execution_name(conversation.id, conversation.snooze_version),
                input=json.dumps(payload, sort_keys=True),
            )
        except self._sfn.exceptions.ExecutionAlreadyExists:  # type: ignore[attr-defined]
            pass

    def stop(self, conversation_id: str, snooze_version: int) -> None:
        """Cancel a replaced timer. The version guard makes this an optimisation, not a requirement."""
        execution_arn = self._arn.replace(":stateMachine:", ":execution:") + ":" + self.execution_name(
            conversation_id, snooze_version)
        try:
            self._sfn.stop_execution(executionArn=execution_arn, cause="Snooze replaced or cancelled")  # type: ignore[attr-defined]
        except ClientError as exc:  # already finished or never started: nothing left to cancel
            if exc.response["Error"]["Code"] not in ("ExecutionDoesNotExist", "ValidationException"):
                raise
