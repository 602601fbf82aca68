"""Starting and stopping SLA timers. The state machine itself lives in infra/statemachines/sla.asl.json.

One execution per SLA version of a conversation, named ``{conversation}-sla-{version}``: it raises the version's
alerts (warnings at 80 %, breaches at 100 % of a target) in turn, each a conditional update that only lands while
``sla_version`` is still its own. Its input is the alerts as a chain, each with the seconds to wait after the one
before, so the machine needs no arithmetic: wait, raise, and go on with ``next`` until it is null.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from ..domain import clock
from ..domain.sla import Alert
from .waits import start_once, stop_quietly


class SlaTimers:
    def __init__(self, sfn_client: object, state_machine_arn: str) -> None:
        self._sfn = sfn_client
        self._arn = state_machine_arn

    @staticmethod
    def execution_name(conversation_id: str, sla_version: int) -> str:
        return f"{conversation_id}-sla-{sla_version}"

    def start(self, tenant_id: str, conversation_id: str, sla_version: int, alerts: Sequence[Alert],
              now: datetime) -> None:
        """Start the version's timer; repeating it (a redelivered stream record) is harmless: the name is taken."""
        payload = timer_input(tenant_id, conversation_id, sla_version, alerts, now)
        start_once(self._sfn, self._arn, self.execution_name(conversation_id, sla_version), payload)

    def stop(self, conversation_id: str, sla_version: int) -> None:
        """Cancel a replaced timer. The version guard makes this an optimisation, not a requirement."""
        stop_quietly(self._sfn, self._arn, self.execution_name(conversation_id, sla_version), "SLA clocks changed")


def timer_input(tenant_id: str, conversation_id: str, sla_version: int, alerts: Sequence[Alert],
                now: datetime) -> dict:
    """``{"tenant_id", "conversation_id", "sla_version", "alert": {"seconds", "key", "next": {...} or None}}``.

    Waits are whole seconds rounded up, measured from ``now`` and then from the alert before, so an alert is
    never raised early and a past one is raised at once."""
    offsets = [max(0, math.ceil((clock.parse_iso(alert.at) - now).total_seconds())) for alert in alerts]
    chain: dict | None = None
    for index in reversed(range(len(alerts))):
        wait = offsets[index] - (offsets[index - 1] if index else 0)
        chain = {"seconds": max(0, wait), "key": alerts[index].key(sla_version), "next": chain}
    return {"tenant_id": tenant_id, "conversation_id": conversation_id, "sla_version": str(sla_version),
            "alert": chain}
