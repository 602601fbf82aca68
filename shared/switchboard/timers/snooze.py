"""Starting and stopping snooze executions. The state machine itself lives in infra/statemachines/snooze.asl.json."""

from __future__ import annotations

from datetime import datetime

from ..domain import clock
from ..domain.conversation import Conversation
from ..store.keys import activity_key, status_key
from .waits import seconds_until, start_once, stop_quietly


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
        name = self.execution_name(conversation.id, conversation.snooze_version)
        start_once(self._sfn, self._arn, name, payload)

    def stop(self, conversation_id: str, snooze_version: int) -> None:
        """Cancel a replaced timer. The version guard makes this an optimisation, not a requirement."""
        name = self.execution_name(conversation_id, snooze_version)
        stop_quietly(self._sfn, self._arn, name, "Snooze replaced or cancelled")
