"""What round robin reads and writes: a team's settings and turn, its members' availability and open conversations,
the team's unassigned backlog, and the claim that keeps the cap when several assigners run at once.

An operator's open conversations are counted on the by_assignee index (``open#`` prefix, limit cap + 1). Index
reads are eventually consistent and two assigners may count at the same moment, so every round-robin assignment
also updates the operator's workload item on the condition that its ``seq`` is unchanged (of two assigners that
counted the same free slot only one commits), and the item remembers what it handed out in the last minute, which
is counted until the index shows it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from pynamodb.exceptions import DoesNotExist, UpdateError

from ..domain.conversation import Conversation, Status
from ..domain.directory import Team
from ..domain.routing import AVAILABLE, TeamSettings
from .directory import team_from_item
from .mapping import conversation_from_item
from .models import UNASSIGNED, ConversationItem, DirectoryItem, TeamItem, WorkloadItem
from .writes import TxOp

CLAIM_MEMORY_SECONDS = 60.0  # far longer than the index takes to show a write


@dataclass(frozen=True)
class TeamTurn:
    """A team's settings as they are now (read consistently) and whose turn round robin gave last."""

    team: Team
    last_assigned_id: str | None


@dataclass(frozen=True)
class Workload:
    tenant_id: str
    operator_id: str
    availability: str = AVAILABLE
    seq: int = 0
    claims: tuple[tuple[str, float], ...] = ()  # (conversation id, epoch seconds) handed out recently


class DistributionStore:
    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now

    # ------------------------------------------------------------ teams
    def team(self, tenant_id: str, team_id: str) -> TeamTurn | None:
        try:
            item = TeamItem.get(tenant_id, f"team#{team_id}", consistent_read=True)
        except DoesNotExist:
            return None
        return TeamTurn(team_from_item(item), item.last_assigned_id)

    def save_settings(self, tenant_id: str, team_id: str, settings: TeamSettings) -> Team | None:
        """Apply an admin's settings; None if there is no such team."""
        cap = settings.assignment_cap
        actions = [TeamItem.auto_assign.set(settings.auto_assign),
                   TeamItem.assignment_cap.remove() if cap is None else TeamItem.assignment_cap.set(cap)]
        item = TeamItem(tenant_id, f"team#{team_id}")
        try:
            item.update(actions=actions, condition=TeamItem.sk.exists())
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":  # there is no such team
                return None
            raise
        return team_from_item(item)

    def take_turn(self, tenant_id: str, team_id: str, operator_id: str) -> TxOp:
        """Remember who round robin gave the team's last conversation to: the next one starts after them."""
        item = TeamItem(tenant_id, f"team#{team_id}")
        return lambda tx: tx.update(item, actions=[TeamItem.last_assigned_id.set(operator_id)],
                                    condition=TeamItem.sk.exists())

    # ------------------------------------------------------------ operators
    def workloads(self, tenant_id: str) -> dict[str, Workload]:
        """Every operator's workload item that exists (one query); an operator without one is available."""
        query = DirectoryItem.query(tenant_id, DirectoryItem.sk.startswith("workload#"))
        return {workload.operator_id: workload for workload in map(_workload, query)}

    def workload(self, tenant_id: str, operator_id: str) -> Workload:
        try:
            return _workload(WorkloadItem.get(tenant_id, f"workload#{operator_id}", consistent_read=True))
        except DoesNotExist:
            return Workload(tenant_id, operator_id)

    def set_availability(self, tenant_id: str, operator_id: str, availability: str) -> None:
        WorkloadItem(tenant_id, f"workload#{operator_id}").update(
            actions=[WorkloadItem.kind.set(WorkloadItem), WorkloadItem.availability.set(availability)])

    def open_count(self, workload: Workload, cap: int) -> int:
        """The operator's open conversations, exact up to cap + 1: the index, plus recent claims it may not show."""
        tenant, operator = workload.tenant_id, workload.operator_id
        query = ConversationItem.by_assignee.query(
            f"{tenant}#{operator}", ConversationItem.status_key.startswith(f"{Status.OPEN}#"), limit=cap + 1,
            page_size=cap + 1)
        held = {item.conversation_id for item in query}
        for conversation_id in self._recent(workload):
            if conversation_id not in held and self._still_holds(tenant, conversation_id, operator):
                held.add(conversation_id)
        return len(held)

    def claim(self, workload: Workload, conversation_id: str) -> TxOp:
        """The operator's workload moves on by one, if nobody else moved it since ``workload`` was read."""
        now = self._now()
        claims = [[cid, at] for cid, at in workload.claims if now - at < CLAIM_MEMORY_SECONDS]
        actions = [WorkloadItem.kind.set(WorkloadItem), WorkloadItem.seq.set(workload.seq + 1),
                   WorkloadItem.claims.set(claims + [[conversation_id, now]])]
        unchanged = WorkloadItem.seq == workload.seq
        if workload.seq == 0:
            unchanged = WorkloadItem.seq.does_not_exist() | unchanged
        item = WorkloadItem(workload.tenant_id, f"workload#{workload.operator_id}")
        return lambda tx: tx.update(item, actions=actions, condition=unchanged)

    def _recent(self, workload: Workload) -> list[str]:
        now = self._now()
        return [cid for cid, at in workload.claims if now - at < CLAIM_MEMORY_SECONDS]

    @staticmethod
    def _still_holds(tenant_id: str, conversation_id: str, operator_id: str) -> bool:
        try:
            item = ConversationItem.get(tenant_id, conversation_id, consistent_read=True)
        except ConversationItem.DoesNotExist:
            return False
        return item.status == str(Status.OPEN) and item.assignee_id == operator_id

    # ------------------------------------------------------------ conversations
    def backlog(self, tenant_id: str, team_id: str, limit: int) -> list[Conversation]:
        """The team's open, unassigned conversations, least recent activity first.

        Read from the team's open partition, trimming the assigned ones: with auto-assign on, those are at most
        what the team's members are working on right now.
        """
        query = ConversationItem.by_team.query(
            f"{tenant_id}#{team_id}", ConversationItem.status_key.startswith(f"{Status.OPEN}#"),
            filter_condition=ConversationItem.assignee_id == UNASSIGNED, scan_index_forward=True, limit=limit,
            page_size=100)
        return [conversation_from_item(item) for item in query]


def _workload(item: WorkloadItem) -> Workload:
    claims = tuple((str(cid), float(at)) for cid, at in item.claims or [])
    return Workload(tenant_id=item.pk, operator_id=item.sk.split("#", 1)[1],
                    availability=item.availability or AVAILABLE, seq=int(item.seq or 0), claims=claims)
