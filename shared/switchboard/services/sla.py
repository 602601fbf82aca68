"""SLA clocks, run from the reactions stream: each committed change of a conversation starts, stops, pauses or resumes
its clocks (domain/sla.py), and when a timer raises a warning or breach this marks the conversation, runs the
policy's escalation and leaves activity lines; the notifications consumer then tells the assignee and the team's
supervisors. The change is written to the conversation (optimistic on its version) and the timer for the new SLA
version is started from the stream record of that write, so a crash in between loses no timer: the stream retries.

For admins: the ordered SLA policies. For operators: a conversation's SLA clocks and record.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import datetime

from ..domain import clock
from ..domain.business_hours import BusinessHours
from ..domain.conversation import Conversation, OperatorView
from ..domain.errors import Conflict, Forbidden, NotFound
from ..domain.ids import ulid
from ..domain.message import Message, MessageType
from ..domain.sla import (
    Advanced,
    Facts,
    Happening,
    Kind,
    SlaPolicy,
    SlaState,
    advance,
    first_match,
    happenings,
    missed_line,
    named,
    parse_policies,
    raised_line,
    settle,
)
from ..store.business_hours import BusinessHoursStore
from ..store.conversations import ConversationStore
from ..store.directory import DirectoryStore
from ..store.sla import SlaPolicyStore
from ..store.writes import ConversationWriter, TxOp, VersionConflict, put_message
from ..timers.sla import SlaTimers

MAX_ATTEMPTS = 5
HOURS_CACHE_SECONDS = 60.0


class SlaService:
    def __init__(self, conversations: ConversationStore, writer: ConversationWriter, policies: SlaPolicyStore,
                 hours: BusinessHoursStore, directory: DirectoryStore, timers: SlaTimers,
                 now: Callable[[], datetime] = clock.now) -> None:
        self._conversations = conversations
        self._writer = writer
        self._policies = policies
        self._hours = hours
        self._directory = directory
        self._timers = timers
        self._now = now
        self._hours_cache: dict[str, tuple[float, BusinessHours]] = {}

    # ------------------------------------------------------------ from the stream
    def on_change(self, new: Conversation | None, old: Conversation | None) -> None:
        """A committed change of a conversation (the reactions stream). Safe to repeat: timers are started under
        deterministic names, and a change already applied to the clocks (``SlaState.seen``) is skipped."""
        if new is None:
            return
        if old is not None and old.sla_version != new.sla_version:
            self._replace_timer(new, old)
        happened = happenings(old, new, self._now())
        if happened:
            self._apply(new, happened)

    def _replace_timer(self, new: Conversation, old: Conversation) -> None:
        alerts = SlaState.from_dict(new.sla).scheduled
        if alerts:
            self._timers.start(new.tenant_id, new.id, new.sla_version, alerts, self._now())
        if old.sla_version:
            self._timers.stop(old.id, old.sla_version)

    def _apply(self, changed: Conversation, happened: list[Happening]) -> None:
        """Apply what ``changed`` (a stream image) means to the clocks of the conversation as it is now."""
        policies = self._policies.get(changed.tenant_id)
        hours = self._hours_of(changed.tenant_id)
        for _ in range(MAX_ATTEMPTS):
            try:
                current = self._conversations.get(changed.tenant_id, changed.id)
            except NotFound:
                return
            update = self._update(current, changed, happened, policies, hours)
            if update is None:
                return
            try:
                self._writer.save(current, *update)
                return
            except VersionConflict:  # an operator changed it meanwhile: read again
                continue
        raise Conflict("The conversation is changing too quickly; the stream will retry.")

    def _update(self, current: Conversation, changed: Conversation, happened: list[Happening],
                policies: list[SlaPolicy], hours: BusinessHours) -> tuple[Conversation, list[TxOp]] | None:
        before = SlaState.from_dict(current.sla)
        if changed.version <= before.seen:
            return None  # delivered again: already applied
        facts = Facts(policy=first_match(policies, changed), status=changed.status,
                      waiting=changed.waiting_since is not None, hours=hours, version=current.sla_version)
        advanced = advance(before, happened, facts)
        escalated, escalation_lines = self._escalated(current, advanced, policies)
        state = self._rematched(advanced.state, escalated, facts, policies) if escalation_lines else advanced.state
        if not _worth_keeping(before, state):
            return None
        state, version = settle(state, current.sla_version, hours)
        state = dataclasses.replace(state, seen=changed.version)
        new = dataclasses.replace(escalated, sla=state.to_dict(), sla_version=version, sla_state=state.status(),
                                  sla_due_at=state.due_at(hours))
        lines = [raised_line(raised, hours) for raised in advanced.raised] + escalation_lines
        lines += [missed_line(outcome) for outcome in advanced.stopped if not outcome.hit]
        return new, self._activity(current, lines)

    def _escalated(self, conversation: Conversation, advanced: Advanced,
                   policies: list[SlaPolicy]) -> tuple[Conversation, list[str]]:
        """The policy's escalation, run for each alert it is set for."""
        policy = named(policies, advanced.state.policy)
        escalation = policy.escalation if policy is not None else None
        lines = []
        for raised in advanced.raised:
            if escalation is None or escalation.at != raised.alert.kind:
                continue
            conversation, done = escalation.applied(conversation)
            if done:
                lines.append(self._escalation_line(conversation.tenant_id, done))
        return conversation, lines

    def _rematched(self, state: SlaState, escalated: Conversation, facts: Facts,
                   policies: list[SlaPolicy]) -> SlaState:
        """An escalation that raised the priority or moved the team may put the conversation under another
        policy: apply it now, so the stream record of this very write finds nothing left to do."""
        policy = first_match(policies, escalated)
        if (policy.name if policy else None) == state.policy:
            return state
        retargeted = Happening(Kind.RETARGETED, self._now())
        return advance(state, [retargeted], dataclasses.replace(facts, policy=policy)).state

    def _escalation_line(self, tenant_id: str, done: list[tuple[str, str]]) -> str:
        names = self._directory.names(tenant_id)
        words = {"priority": lambda value: f"priority raised to {value}",
                 "team": lambda value: f"moved to {names.get(value) or 'another team'}",
                 "unassigned": lambda value: "unassigned, so round robin hands it to someone online"}
        return "SLA escalation: " + ", ".join(words[action](value) for action, value in done)

    def _activity(self, conversation: Conversation, lines: list[str]) -> list[TxOp]:
        """Activity lines, in order: ids one millisecond apart, since ids sort the conversation's messages."""
        now = self._now()
        base = int(now.timestamp() * 1000)
        return [put_message(Message(
            tenant_id=conversation.tenant_id, conversation_id=conversation.id, id=ulid(base + index),
            type=MessageType.ACTIVITY, created_at=clock.iso(now), text=line, inbox_id=conversation.inbox_id,
            channel=conversation.channel, source_id=conversation.source_id,
        )) for index, line in enumerate(lines)]

    def _hours_of(self, tenant_id: str) -> BusinessHours:
        """The tenant's business hours, cached like the directory: an edit applies within a minute."""
        hit = self._hours_cache.get(tenant_id)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        hours = self._hours.get(tenant_id)
        self._hours_cache[tenant_id] = (time.monotonic() + HOURS_CACHE_SECONDS, hours)
        return hours

    # ------------------------------------------------------------ admins
    def policies(self, viewer: OperatorView) -> list[SlaPolicy]:
        if not viewer.sees_all:
            raise Forbidden("Only admins and supervisors can see the SLA policies.")
        return self._policies.get(viewer.tenant_id)

    def set_policies(self, viewer: OperatorView, raw: object) -> list[SlaPolicy]:
        """Replace the tenant's SLA policies (an ordered list, first match wins) after checking every one. Each
        conversation moves to the policy it matches at its next change."""
        from ..channels import ADAPTERS

        if not viewer.is_admin:
            raise Forbidden("Only owners and admins can change the SLA policies.")
        tenant = viewer.tenant_id
        policies = parse_policies(raw, teams={team.id for team in self._directory.teams(tenant)},
                                  inboxes={inbox.id for inbox in self._directory.inboxes(tenant)}, channels=ADAPTERS)
        self._policies.put(tenant, policies, viewer.operator_id)
        return policies

    # ------------------------------------------------------------ operators
    def record(self, viewer: OperatorView, conversation_id: str) -> dict:
        """The conversation's SLA: the clocks still running or paused, and every target hit or missed so far."""
        conversation = self._conversations.get(viewer.tenant_id, conversation_id)
        if not conversation.visible_to(viewer):
            raise NotFound("No such conversation.")
        return sla_view(conversation, self._hours_of(viewer.tenant_id), self._now())


def _worth_keeping(before: SlaState, after: SlaState) -> bool:
    """Whether the clocks changed in a way worth a write. A conversation under no policy keeps no SLA state, so
    tenants without SLA policies pay nothing for them."""
    if dataclasses.replace(after, seen=before.seen) == before:
        return False
    return after.policy is not None or before.policy is not None or after.record != before.record


def sla_view(conversation: Conversation, hours: BusinessHours, now: datetime) -> dict:
    state = SlaState.from_dict(conversation.sla)
    clocks = [{"target": str(c.target), "target_seconds": c.seconds, "started_at": c.started_at,
               "used_seconds": c.elapsed(now, hours), "running": c.running, "running_since": c.running_since,
               "due_at": c.due_at(hours), "warned": c.warned, "breached": c.breached_at is not None}
              for c in state.clocks]
    return {"conversation_id": conversation.id, "policy": state.policy, "state": conversation.sla_state,
            "due_at": conversation.sla_due_at, "cycle": state.cycle, "clocks": clocks,
            "record": [outcome.to_dict() for outcome in state.record]}
