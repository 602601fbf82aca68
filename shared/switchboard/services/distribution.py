"""Every conversation has one owner. Operators take conversations from their team's list; round robin hands a
team's unassigned conversations, oldest waiting first, to members who are online and available, up to the team's
cap, as soon as one of them can take more; routing rules choose the team of a new conversation.

Round robin runs where the reasons for it show up: the reactions stream (a new or returning conversation, a slot
freed by a resolve, snooze, pending or reassignment), the realtime $connect (someone came online) and the API
(someone became available, an admin turned auto-assign on).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime
from enum import Enum

from ..channels import ADAPTERS
from ..domain import clock
from ..domain.contact import normalize_email, normalize_phone
from ..domain.conversation import Conversation, OperatorView
from ..domain.directory import Inbox, Team
from ..domain.errors import Forbidden, NotFound
from ..domain.ids import ulid
from ..domain.inbound import InboundMessage
from ..domain.message import Message, MessageType
from ..domain.routing import (
    AVAILABLE,
    AlreadyTaken,
    Facts,
    Routed,
    RoutingRule,
    TeamSettings,
    awaits_owner,
    first_match,
    freed_slot,
    has_room,
    joins_backlog,
    next_in_turn,
    oldest_first,
    parse_availability,
    parse_rules,
)
from ..domain.settings import require_editable
from ..store.connections import ConnectionStore
from ..store.conversations import ConversationStore
from ..store.directory import DirectoryStore
from ..store.distribution import DistributionStore, TeamTurn, Workload
from ..store.writes import ConditionFailed, ConversationWriter, TxOp, VersionConflict, put_message
from .conversations import ConversationService

log = logging.getLogger(__name__)

BACKLOG_PAGE = 25  # conversations read per round; a drain runs a few rounds while everything finds an owner
MAX_ROUNDS = 4
MAX_ATTEMPTS = 5  # per conversation: someone else changed it or gave its chosen owner another one meanwhile


class _Outcome(Enum):
    SKIPPED = "skipped"  # it found an owner elsewhere (a take, a manual assignment, another drain)
    NOBODY = "nobody"  # nobody online and available has room: the rest of the backlog waits too


class _Yours(Exception):
    """The operator already holds the conversation they take: nothing to write."""

    def __init__(self, conversation: Conversation) -> None:
        super().__init__(conversation.id)
        self.conversation = conversation


class DistributionService:
    def __init__(self, directory: DirectoryStore, store: DistributionStore, connections: ConnectionStore,
                 conversations: ConversationStore, writer: ConversationWriter, operations: ConversationService,
                 now: Callable[[], datetime] = clock.now) -> None:
        self._directory = directory
        self._store = store
        self._connections = connections
        self._conversations = conversations
        self._writer = writer
        self._operations = operations
        self._now = now

    # ------------------------------------------------------------ operators
    def take(self, viewer: OperatorView, conversation_id: str) -> Conversation:
        """Make the conversation the viewer's: it must be unassigned (or theirs already). Of two operators taking
        at once exactly one wins (the write is conditional on the version they read); the other gets a 409 that
        says who has it."""

        def change(conv: Conversation) -> tuple[Conversation, list[TxOp]]:
            require_editable(conv, "assignee")
            if conv.assignee_id == viewer.operator_id:
                raise _Yours(conv)
            if conv.assignee_id is not None:
                raise self._taken(conv)
            new = dataclasses.replace(conv, assignee_id=viewer.operator_id)
            return new, [self._operations.activity(conv, viewer, "took this")]

        try:
            return self._operations.change(viewer, conversation_id, change)
        except _Yours as yours:
            return yours.conversation

    def availability(self, viewer: OperatorView) -> str:
        return self._store.workload(viewer.tenant_id, viewer.operator_id).availability

    def set_availability(self, viewer: OperatorView, raw: object) -> str:
        """``away`` operators get nothing from round robin; coming back hands them their share of the backlog."""
        availability = parse_availability(raw)
        self._store.set_availability(viewer.tenant_id, viewer.operator_id, availability)
        if availability == AVAILABLE:
            for team_id in sorted(viewer.team_ids):
                self.drain(viewer.tenant_id, team_id, fresh=frozenset({viewer.operator_id}))
        return availability

    # ------------------------------------------------------------ admins
    def update_team(self, viewer: OperatorView, team_id: str, body: dict) -> Team:
        """Turn round robin on or off for a team and set its cap; turning it on hands out the backlog at once."""
        if not viewer.is_admin:
            raise Forbidden("Only admins can change a team's distribution settings.")
        turn = self._store.team(viewer.tenant_id, team_id)
        if turn is None:
            raise NotFound("No such team.")
        current = TeamSettings(turn.team.auto_assign, turn.team.assignment_cap)
        team = self._store.save_settings(viewer.tenant_id, team_id, current.updated(body))
        if team is None:
            raise NotFound("No such team.")
        if team.auto_assign:
            self.drain(viewer.tenant_id, team_id)
        return team

    def rules(self, viewer: OperatorView) -> list[RoutingRule]:
        if not viewer.sees_all:
            raise Forbidden("Only admins and supervisors can see the routing rules.")
        return self._directory.routing_rules(viewer.tenant_id)

    def set_rules(self, viewer: OperatorView, raw: object) -> list[RoutingRule]:
        """Replace the tenant's routing rules (an ordered list, first match wins) after checking every one."""
        if not viewer.is_admin:
            raise Forbidden("Only admins can change the routing rules.")
        tenant = viewer.tenant_id
        rules = parse_rules(raw, teams={team.id for team in self._directory.teams(tenant)},
                            inboxes={inbox.id for inbox in self._directory.inboxes(tenant)}, channels=ADAPTERS)
        self._directory.put_routing_rules(tenant, rules, viewer.operator_id)
        return rules

    # ------------------------------------------------------------ triggers
    def on_change(self, new: Conversation | None, old: Conversation | None) -> None:
        """A committed conversation change (the reactions stream): hand out what it put into a backlog or let
        the operator whose slot it freed, or a teammate, take the next one."""
        if new is None:
            return
        teams: set[str] = set()
        if joins_backlog(old, new):
            teams.add(new.team_id)  # type: ignore[arg-type]
        operator_id = freed_slot(old, new)
        if operator_id:
            teams.update(self._teams_of(new.tenant_id, operator_id))
        for team_id in sorted(teams):
            self.drain(new.tenant_id, team_id)

    def operator_online(self, tenant_id: str, operator_id: str) -> None:
        """Someone opened a socket: their teams' backlogs may move. Best effort: a failure here must not refuse the
        socket, and the next trigger hands the backlog out anyway."""
        try:
            for team_id in self._teams_of(tenant_id, operator_id):
                self.drain(tenant_id, team_id, online=frozenset({operator_id}), fresh=frozenset({operator_id}))
        except Exception:  # logged; the socket stands
            log.exception("handing out the backlog on connect failed", extra={"operator_id": operator_id})

    # ------------------------------------------------------------ round robin
    def drain(self, tenant_id: str, team_id: str, *, online: frozenset[str] = frozenset(),
              fresh: frozenset[str] = frozenset()) -> list[Conversation]:
        """Hand the team's backlog out, oldest waiting first, while someone online and available has room.

        ``online``: operators known to be connected though the connections index may not show them yet;
        ``fresh``: operators whose availability just changed, read directly.
        """
        turn = self._store.team(tenant_id, team_id)
        if turn is None or not turn.team.auto_assign:
            return []
        pool: _Pool | None = None
        handed: list[Conversation] = []
        for _ in range(MAX_ROUNDS):
            waiting = self._store.backlog(tenant_id, team_id, BACKLOG_PAGE)
            if not waiting:
                break
            pool = pool or self._pool(turn.team, online, fresh)
            assigned, nobody = self._hand_out_all(turn, pool, oldest_first(waiting))
            handed += assigned
            if assigned:
                turn = dataclasses.replace(turn, last_assigned_id=assigned[-1].assignee_id)
            if nobody or len(waiting) < BACKLOG_PAGE:
                break
        return handed

    def _hand_out_all(self, turn: TeamTurn, pool: _Pool,
                      waiting: list[Conversation]) -> tuple[list[Conversation], bool]:
        assigned = []
        for conversation in waiting:
            outcome = self._hand_out(turn, pool, conversation)
            if outcome is _Outcome.NOBODY:
                return assigned, True
            if isinstance(outcome, Conversation):
                assigned.append(outcome)
                turn = dataclasses.replace(turn, last_assigned_id=outcome.assignee_id)
        return assigned, False

    def _hand_out(self, turn: TeamTurn, pool: _Pool, conversation: Conversation) -> Conversation | _Outcome:
        for _ in range(MAX_ATTEMPTS):
            operator_id = next_in_turn(pool.names, turn.last_assigned_id, pool.has_room)
            if operator_id is None:
                return _Outcome.NOBODY
            try:
                return self._assign(conversation, operator_id, pool, turn.team.id)
            except VersionConflict:  # a take, a manual assignment or another drain came first: theirs stands
                conversation = self._conversations.get(conversation.tenant_id, conversation.id)
                if not awaits_owner(conversation) or conversation.team_id != turn.team.id:
                    return _Outcome.SKIPPED
            except ConditionFailed:  # someone gave this operator a conversation since we counted: count again
                pool.forget(operator_id)
        return _Outcome.SKIPPED

    def _assign(self, conversation: Conversation, operator_id: str, pool: _Pool, team_id: str) -> Conversation:
        """One write: the conversation (if its version is still the one read, so it is still unassigned), its
        activity line, the operator's claim (with a cap) and the team's turn."""
        new = dataclasses.replace(conversation, assignee_id=operator_id)
        line = f"Round robin assigned this to {pool.names[operator_id]}"
        ops = [put_message(self._activity(conversation, line)), *pool.claim(operator_id, conversation.id),
               self._store.take_turn(conversation.tenant_id, team_id, operator_id)]
        saved = self._writer.save(conversation, new, ops)
        pool.forget(operator_id)
        return saved

    def _pool(self, team: Team, online: frozenset[str], fresh: frozenset[str]) -> _Pool:
        tenant = team.tenant_id
        members = {op.id: op.name for op in self._directory.operators(tenant) if team.id in op.team_ids}
        connected = {c.operator_id for c in self._connections.operators_of(tenant)} | online
        workloads = self._store.workloads(tenant)
        workloads |= {operator_id: self._store.workload(tenant, operator_id) for operator_id in fresh & set(members)}
        eligible = {operator_id: name for operator_id, name in members.items() if operator_id in connected
                    and workloads.get(operator_id, Workload(tenant, operator_id)).availability == AVAILABLE}
        return _Pool(self._store, tenant, eligible, team.assignment_cap)

    # ------------------------------------------------------------ helpers
    def _teams_of(self, tenant_id: str, operator_id: str) -> list[str]:
        try:
            return sorted(self._directory.operator(tenant_id, operator_id).team_ids)
        except NotFound:
            return []

    def _taken(self, conversation: Conversation) -> AlreadyTaken:
        holder = self._directory.names(conversation.tenant_id).get(conversation.assignee_id or "") or "A colleague"
        return AlreadyTaken(f"{holder} already has this conversation.", conversation_id=conversation.id,
                            assignee_id=conversation.assignee_id, assignee_name=holder,
                            conversation_status=str(conversation.status), version=conversation.version)

    def _activity(self, conversation: Conversation, text: str) -> Message:
        return Message(
            tenant_id=conversation.tenant_id, conversation_id=conversation.id, id=ulid(), type=MessageType.ACTIVITY,
            created_at=clock.iso(self._now()), text=text, inbox_id=conversation.inbox_id,
            channel=conversation.channel, source_id=conversation.source_id,
        )


class _Pool:
    """The members round robin may give a conversation to now (by id: their names), with each one's load read
    when first needed and read again after every change."""

    def __init__(self, store: DistributionStore, tenant_id: str, names: dict[str, str], cap: int | None) -> None:
        self.names = names
        self._store = store
        self._tenant = tenant_id
        self._cap = cap
        self._loads: dict[str, tuple[Workload, int]] = {}

    def has_room(self, operator_id: str) -> bool:
        if self._cap is None:
            return True
        if operator_id not in self._loads:
            workload = self._store.workload(self._tenant, operator_id)
            self._loads[operator_id] = (workload, self._store.open_count(workload, self._cap))
        return has_room(self._loads[operator_id][1], self._cap)

    def claim(self, operator_id: str, conversation_id: str) -> list[TxOp]:
        """Without a cap there is nothing to keep: no claim, no contention on the operator's item."""
        if self._cap is None:
            return []
        return [self._store.claim(self._loads[operator_id][0], conversation_id)]

    def forget(self, operator_id: str) -> None:
        self._loads.pop(operator_id, None)


class Router:
    """Chooses the team of a new conversation by the tenant's routing rules, read from the directory's cache, so
    routing adds no DynamoDB call to a warm webhook."""

    def __init__(self, directory: DirectoryStore) -> None:
        self._directory = directory

    def route(self, inbox: Inbox, event: InboundMessage, contact_name: str | None) -> Routed | None:
        rules = self._directory.routing_rules(inbox.tenant_id)
        rule = first_match(rules, _facts(inbox, event, contact_name)) if rules else None
        if rule is None:
            return None
        team = self._directory.names(inbox.tenant_id).get(rule.team_id) or "a team"
        return Routed(team_id=rule.team_id, note=f"Routed to {team} by rule '{rule.name}'")


def _facts(inbox: Inbox, event: InboundMessage, contact_name: str | None) -> Facts:
    profile = event.profile
    contact = {
        "name": profile.name or contact_name, "username": profile.username, "language": profile.language,
        "email": normalize_email(profile.email) or profile.email,
        "phone": normalize_phone(profile.phone) or profile.phone,
    }
    return Facts(inbox_id=inbox.id, channel=inbox.channel, text=event.text or "",
                 page_url=event.meta.get("page_url"), contact=contact)
