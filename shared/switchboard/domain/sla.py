"""SLA policies and clocks (PRODUCT.md §7): which policy a conversation falls under, and how its first response,
next response and resolution targets are timed in business hours.

A target's clock starts when the conversation opens (first response, resolution) or when a customer message starts
waiting after an operator's reply (next response). An operator's reply stops the response clocks, a resolve stops
every clock; ``pending`` and ``snoozed`` pause them, and reopening resumes them with the business time left. Each
running clock has two alerts: a warning at 80 % of its target and a breach at 100 %. A stopped clock becomes an
``Outcome`` in the conversation's record: hit or missed, and by how much.

Pure: no storage, no clock, no event shapes. ``SlaService`` feeds each committed change of a conversation through
``happenings`` and ``advance``, keeps the ``SlaState`` on the conversation, and a Step Functions timer raises the
alerts ``schedule`` lists. Times are ISO strings as ``clock.iso`` writes them, so states compare and store exactly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from . import clock
from .business_hours import BusinessHours
from .conversation import Conversation, Status
from .errors import BadRequest
from .settings import PRIORITIES


class Target(StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


RESPONSES = (Target.FIRST_RESPONSE, Target.NEXT_RESPONSE)
WARNING, BREACH = "warning", "breach"  # the two alerts of a running clock
WARNING_SHARE = 0.8
# Conversation.sla_state: the worst alert raised on a clock that still runs.
NONE, WARNED, BREACHED = "none", "warning", "breached"
PAUSING = frozenset({Status.PENDING, Status.SNOOZED})

MAX_POLICIES = 50
MAX_NAME_LENGTH = 80
MAX_TARGET_SECONDS = 366 * 24 * 3600  # BusinessHours.add gives up far beyond; a target a year away is a mistake
MAX_RECORD = 100  # outcomes kept per conversation, newest last


# ------------------------------------------------------------------ policies
@dataclass(frozen=True)
class Match:
    """Which conversations a policy applies to: every given list must contain the conversation's value (an empty
    list does not restrict), so a policy without conditions applies to everything and belongs last."""

    team_ids: tuple[str, ...] = ()
    inbox_ids: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()

    def applies_to(self, conversation: Conversation) -> bool:
        checks = ((self.team_ids, conversation.team_id), (self.inbox_ids, conversation.inbox_id),
                  (self.channels, conversation.channel), (self.priorities, conversation.priority))
        return all(not allowed or value in allowed for allowed, value in checks)

    def to_dict(self) -> dict[str, list[str]]:
        return {name: list(values) for name, values in dataclasses.asdict(self).items() if values}


@dataclass(frozen=True)
class Escalation:
    """What a policy does to a conversation when one of its targets is breached (or warned, with ``at``)."""

    at: str = BREACH
    raise_priority: bool | str = False  # True: one step up; a priority: at least that one
    team_id: str | None = None  # move it to this team
    unassign: bool = False  # let round robin hand it to someone online

    def applied(self, conversation: Conversation) -> tuple[Conversation, list[tuple[str, str]]]:
        """The escalated conversation and what changed, as (action, value) pairs for the activity lines."""
        changed, done = conversation, []
        priority = self._raised(conversation.priority)
        if priority != conversation.priority:
            changed, done = dataclasses.replace(changed, priority=priority), [("priority", priority)]
        if self.team_id and self.team_id != conversation.team_id:
            changed, done = dataclasses.replace(changed, team_id=self.team_id), done + [("team", self.team_id)]
        if self.unassign and conversation.assignee_id is not None:
            changed, done = dataclasses.replace(changed, assignee_id=None), done + [("unassigned", "")]
        return changed, done

    def _raised(self, current: str) -> str:
        rank = PRIORITIES.index(current) if current in PRIORITIES else PRIORITIES.index("normal")
        if self.raise_priority is True:
            return PRIORITIES[min(rank + 1, len(PRIORITIES) - 1)]
        if isinstance(self.raise_priority, str):
            return PRIORITIES[max(rank, PRIORITIES.index(self.raise_priority))]
        return current

    def to_dict(self) -> dict:
        data = {"at": self.at, "raise_priority": self.raise_priority, "team_id": self.team_id,
                "unassign": self.unassign}
        return {name: value for name, value in data.items() if value}


@dataclass(frozen=True)
class SlaPolicy:
    """Targets in business seconds (the API takes minutes, or seconds for short test targets)."""

    name: str
    targets: Mapping[Target, int]
    match: Match = Match()
    escalation: Escalation | None = None

    def to_dict(self) -> dict:
        data: dict = {"name": self.name, "match": self.match.to_dict()}
        for target, seconds in self.targets.items():
            unit = "minutes" if seconds % 60 == 0 else "seconds"
            data[f"{target}_{unit}"] = seconds // 60 if unit == "minutes" else seconds
        if self.escalation is not None:
            data["escalation"] = self.escalation.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping) -> SlaPolicy:
        """A policy as stored: it was validated by ``parse_policies`` on the way in."""
        targets = {}
        for target in Target:
            if f"{target}_minutes" in data:
                targets[target] = int(data[f"{target}_minutes"]) * 60
            elif f"{target}_seconds" in data:
                targets[target] = int(data[f"{target}_seconds"])
        match = data.get("match") or {}
        escalation = data.get("escalation")
        return cls(
            name=data["name"], targets=targets,
            match=Match(**{name: tuple(values) for name, values in match.items()}),
            escalation=Escalation(**escalation) if escalation else None,
        )


def first_match(policies: Iterable[SlaPolicy], conversation: Conversation) -> SlaPolicy | None:
    """Policies are an ordered list: the first whose conditions the conversation meets applies."""
    return next((policy for policy in policies if policy.match.applies_to(conversation)), None)


def named(policies: Iterable[SlaPolicy], name: str | None) -> SlaPolicy | None:
    return next((policy for policy in policies if policy.name == name), None)


_TARGET_FIELDS = {f"{target}_{unit}" for target in Target for unit in ("minutes", "seconds")}
_POLICY_FIELDS = {"name", "match", "escalation"} | _TARGET_FIELDS
_ESCALATION_FIELDS = {"at", "raise_priority", "team_id", "unassign"}


def parse_policies(raw: object, *, teams: Collection[str], inboxes: Collection[str],
                   channels: Collection[str]) -> list[SlaPolicy]:
    """The policies an admin sent, checked against the workspace; BadRequest names the policy and what is wrong."""
    if not isinstance(raw, list):
        raise BadRequest("Give 'policies': a list of SLA policies, in the order they are tried.")
    if len(raw) > MAX_POLICIES:
        raise BadRequest(f"At most {MAX_POLICIES} SLA policies are allowed; got {len(raw)}.")
    policies = [_parse_policy(item, position, teams, inboxes, channels) for position, item in enumerate(raw, 1)]
    seen: set[str] = set()
    for position, policy in enumerate(policies, 1):
        if policy.name.casefold() in seen:
            raise BadRequest(f"Policy {position}: the name '{policy.name}' is used twice; give each its own name.")
        seen.add(policy.name.casefold())
    return policies


def _parse_policy(item: object, position: int, teams: Collection[str], inboxes: Collection[str],
                  channels: Collection[str]) -> SlaPolicy:
    if not isinstance(item, dict):
        raise BadRequest(f"Policy {position} must be an object with a name, targets and optional match.")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME_LENGTH:
        raise BadRequest(f"Policy {position}: 'name' must be text of 1–{MAX_NAME_LENGTH} characters.")
    label = f"Policy {position} ('{name.strip()}')"
    unknown = sorted(set(item) - _POLICY_FIELDS)
    if unknown:
        raise BadRequest(f"{label}: unknown field '{unknown[0]}'; a policy has name, match, escalation and "
                         "targets such as first_response_minutes, next_response_minutes, resolution_minutes.")
    return SlaPolicy(name=name.strip(), targets=_targets(item, label),
                     match=_match(item.get("match"), label, teams, inboxes, channels),
                     escalation=_escalation(item.get("escalation"), label, teams))


def _targets(item: dict, label: str) -> dict[Target, int]:
    targets = {}
    for target in Target:
        minutes, seconds = item.get(f"{target}_minutes"), item.get(f"{target}_seconds")
        if minutes is not None and seconds is not None:
            raise BadRequest(f"{label}: give {target}_minutes or {target}_seconds, not both.")
        value, unit = (minutes, 60) if minutes is not None else (seconds, 1)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value * unit <= MAX_TARGET_SECONDS:
            raise BadRequest(f"{label}: {target} must be a whole number of business "
                             f"{'minutes' if unit == 60 else 'seconds'}, more than 0 and at most a year.")
        targets[target] = value * unit
    if not targets:
        raise BadRequest(f"{label}: give at least one target: first_response_minutes, next_response_minutes or "
                         "resolution_minutes.")
    return targets


def _match(raw: object, label: str, teams: Collection[str], inboxes: Collection[str],
           channels: Collection[str]) -> Match:
    if raw is None:
        return Match()
    known = {"team_ids": ("a team", teams), "inbox_ids": ("an inbox", inboxes), "channels": ("a channel", channels),
             "priorities": ("a priority", PRIORITIES)}
    if not isinstance(raw, dict) or set(raw) - set(known):
        raise BadRequest(f"{label}: 'match' must be an object with any of {', '.join(known)} (lists).")
    values = {}
    for name, entries in raw.items():
        what, allowed = known[name]
        if not isinstance(entries, list) or not all(isinstance(entry, str) for entry in entries):
            raise BadRequest(f"{label}: match.{name} must be a list of texts.")
        wrong = [entry for entry in entries if entry not in allowed]
        if wrong:
            raise BadRequest(f"{label}: '{wrong[0]}' in match.{name} is not {what} of this workspace.")
        values[name] = tuple(dict.fromkeys(entries))
    return Match(**values)


def _escalation(raw: object, label: str, teams: Collection[str]) -> Escalation | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) - _ESCALATION_FIELDS:
        fields = ", ".join(sorted(_ESCALATION_FIELDS))
        raise BadRequest(f"{label}: 'escalation' must be an object with any of {fields}.")
    at = raw.get("at", BREACH)
    if at not in (WARNING, BREACH):
        raise BadRequest(f"{label}: escalation.at must be 'breach' (the default) or 'warning'.")
    priority = raw.get("raise_priority", False)
    if not isinstance(priority, bool) and priority not in PRIORITIES:
        raise BadRequest(f"{label}: escalation.raise_priority must be true (one step up) or one of "
                         f"{', '.join(PRIORITIES)}.")
    team_id = raw.get("team_id")
    if team_id is not None and team_id not in teams:
        raise BadRequest(f"{label}: escalation.team_id must name a team of this workspace.")
    unassign = raw.get("unassign", False)
    if not isinstance(unassign, bool):
        raise BadRequest(f"{label}: escalation.unassign must be true or false.")
    escalation = Escalation(at=at, raise_priority=priority, team_id=team_id, unassign=unassign)
    if not (escalation.raise_priority or escalation.team_id or escalation.unassign):
        raise BadRequest(f"{label}: an escalation must do something: raise_priority, team_id or unassign.")
    return escalation


# ------------------------------------------------------------------ clocks and their record
@dataclass(frozen=True)
class Clock:
    """One target being timed. Business time is counted in segments: ``used`` holds the business seconds up to
    ``running_since`` (the start of the current run); a paused clock has no ``running_since``."""

    target: Target
    seconds: int
    started_at: str
    used: float = 0.0
    running_since: str | None = None
    warned: bool = False
    breached_at: str | None = None  # when the target was due, once its breach was raised

    @property
    def running(self) -> bool:
        return self.running_since is not None

    def moment(self, share: float, hours: BusinessHours) -> datetime:
        """When ``share`` of the target will have been used, if the clock keeps running."""
        left = max(0.0, share * self.seconds - self.used)
        return hours.add(clock.parse_iso(self.running_since or self.started_at), timedelta(seconds=left))

    def due_at(self, hours: BusinessHours) -> str | None:
        if not self.running:
            return None
        return self.breached_at or clock.iso(self.moment(1.0, hours))

    def elapsed(self, at: datetime, hours: BusinessHours) -> float:
        """Business seconds used by ``at``, pauses excluded."""
        if self.running_since is None:
            return self.used
        since = clock.parse_iso(self.running_since)
        return round(self.used + hours.elapsed(since, max(at, since)).total_seconds(), 3)

    def paused(self, at: datetime, hours: BusinessHours) -> Clock:
        return dataclasses.replace(self, used=self.elapsed(at, hours), running_since=None) if self.running else self

    def resumed(self, at: datetime) -> Clock:
        return self if self.running else dataclasses.replace(self, running_since=clock.iso(at))

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "target": str(self.target)}

    @classmethod
    def from_dict(cls, data: Mapping) -> Clock:
        return cls(**{**data, "target": Target(data["target"])})


@dataclass(frozen=True)
class Outcome:
    """A stopped clock, for the conversation's record and the reports: hit or missed, and by how much."""

    target: Target
    policy: str | None
    cycle: int
    seconds: int
    started_at: str
    stopped_at: str
    elapsed: float  # business seconds, pauses excluded
    stopped_by: str  # "reply" | "resolve"

    @property
    def hit(self) -> bool:
        return self.elapsed <= self.seconds

    @property
    def late(self) -> float:
        return max(0.0, round(self.elapsed - self.seconds, 3))

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "target": str(self.target), "hit": self.hit,
                "late_seconds": self.late, "spare_seconds": max(0.0, round(self.seconds - self.elapsed, 3))}

    @classmethod
    def from_dict(cls, data: Mapping) -> Outcome:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{**{k: v for k, v in data.items() if k in names}, "target": Target(data["target"])})


@dataclass(frozen=True)
class Alert:
    """A warning or breach a timer will raise at ``at``. Its ``key`` names the SLA version it belongs to, so an
    alert of a replaced timer is recognised as stale."""

    target: Target
    kind: str
    at: str

    def key(self, version: int) -> str:
        return f"{version}:{self.target}:{self.kind}"

    def to_dict(self) -> dict:
        return {"target": str(self.target), "kind": self.kind, "at": self.at}

    @classmethod
    def from_dict(cls, data: Mapping) -> Alert:
        return cls(Target(data["target"]), data["kind"], data["at"])


def parse_alert_key(key: str | None) -> tuple[int, Target, str] | None:
    """(version, target, kind) of an alert key a timer wrote, or None for anything else."""
    parts = (key or "").split(":")
    if len(parts) != 3 or not parts[0].isdigit() or parts[1] not in set(Target) or parts[2] not in (WARNING, BREACH):
        return None
    return int(parts[0]), Target(parts[1]), parts[2]


@dataclass(frozen=True)
class SlaState:
    """What a conversation's SLA is doing, kept on the conversation (``Conversation.sla``).

    ``cycle`` counts openings (a reopen starts a new one); ``answered``: an operator replied, so the next waiting
    customer message starts next response rather than first response. ``scheduled`` lists the alerts the current
    timer (``Conversation.sla_version``) still has to raise; ``raised`` is the key of the last alert raised (the
    notifications follow it); ``seen`` is the version of the last conversation change applied, so a change the
    stream delivers again is applied once.
    """

    policy: str | None = None
    cycle: int = 0
    answered: bool = False
    clocks: tuple[Clock, ...] = ()
    record: tuple[Outcome, ...] = ()
    scheduled: tuple[Alert, ...] = ()
    raised: str | None = None
    seen: int = 0

    def clock(self, target: Target) -> Clock | None:
        return next((c for c in self.clocks if c.target is target), None)

    def status(self) -> str:
        """none | warning | breached, of the clocks still running or paused."""
        if any(c.breached_at for c in self.clocks):
            return BREACHED
        return WARNED if any(c.warned for c in self.clocks) else NONE

    def due_at(self, hours: BusinessHours) -> str | None:
        """The earliest due time of a running clock (None when none runs: paused clocks are due at no time)."""
        return min(filter(None, (c.due_at(hours) for c in self.clocks)), default=None)

    def to_dict(self) -> dict:
        return {"policy": self.policy, "cycle": self.cycle, "answered": self.answered,
                "clocks": [c.to_dict() for c in self.clocks], "record": [o.to_dict() for o in self.record],
                "scheduled": [a.to_dict() for a in self.scheduled], "raised": self.raised, "seen": self.seen}

    @classmethod
    def from_dict(cls, data: Mapping | None) -> SlaState:
        data = data or {}
        return cls(policy=data.get("policy"), cycle=int(data.get("cycle", 0)), answered=bool(data.get("answered")),
                   clocks=tuple(Clock.from_dict(c) for c in data.get("clocks", [])),
                   record=tuple(Outcome.from_dict(o) for o in data.get("record", [])),
                   scheduled=tuple(Alert.from_dict(a) for a in data.get("scheduled", [])),
                   raised=data.get("raised"), seen=int(data.get("seen", 0)))


def schedule(state: SlaState, hours: BusinessHours) -> tuple[Alert, ...]:
    """The alerts still to raise, soonest first: for each running clock, its warning and its breach if not yet
    raised. A moment already past is still listed: the timer raises it at once."""
    alerts = []
    for running in (c for c in state.clocks if c.running):
        if not running.warned:
            alerts.append(Alert(running.target, WARNING, clock.iso(running.moment(WARNING_SHARE, hours))))
        if running.breached_at is None:
            alerts.append(Alert(running.target, BREACH, clock.iso(running.moment(1.0, hours))))
    order = list(Target)
    return tuple(sorted(alerts, key=lambda a: (a.at, a.kind == BREACH, order.index(a.target))))


# ------------------------------------------------------------------ what a change of a conversation means
class Kind(StrEnum):
    OPENED = "opened"
    REOPENED = "reopened"
    REPLIED = "replied"  # an operator's outgoing message (not automation, not an echo from the platform's app)
    CUSTOMER_WAITS = "customer_waits"
    PAUSED = "paused"
    RESUMED = "resumed"
    RESOLVED = "resolved"
    RETARGETED = "retargeted"  # team, inbox or priority changed: another policy may apply
    ALERT = "alert"  # a timer raised a warning or breach


@dataclass(frozen=True)
class Happening:
    kind: Kind
    at: datetime
    alert: str | None = None


def happenings(old: Conversation | None, new: Conversation, now: datetime) -> list[Happening]:
    """What a committed change means to the clocks, in the order to apply it. Times come from the conversation
    where it has them (a message's time), else ``now`` (the stream delivers within a second)."""
    if old is None:
        return [] if new.status is Status.RESOLVED else [Happening(Kind.OPENED, _moment(new.created_at, now))]
    found = []
    if old.status is Status.RESOLVED and new.status is not Status.RESOLVED:
        found.append(Happening(Kind.REOPENED, now))
    if _replied(old, new):
        found.append(Happening(Kind.REPLIED, _moment((new.last_message or {}).get("at"), now)))
    if old.waiting_since is None and new.waiting_since is not None:
        found.append(Happening(Kind.CUSTOMER_WAITS, _moment(new.waiting_since, now)))
    status = _status_change(old.status, new.status)
    if status is not None:
        found.append(Happening(status, now))
    if (old.team_id, old.inbox_id, old.channel, old.priority) != (new.team_id, new.inbox_id, new.channel,
                                                                   new.priority):
        found.append(Happening(Kind.RETARGETED, now))
    if new.sla_alert and new.sla_alert != old.sla_alert:
        found.append(Happening(Kind.ALERT, now, new.sla_alert))
    return found


def _moment(text: object, now: datetime) -> datetime:
    try:
        return min(clock.parse_iso(text), now) if isinstance(text, str) and text else now
    except ValueError:
        return now


def _replied(old: Conversation, new: Conversation) -> bool:
    """A new outgoing last message written by an operator's own action (``changed_by``): automation and echoes
    from the platform's app write without an operator."""
    last, before = new.last_message or {}, old.last_message or {}
    return last.get("id") != before.get("id") and last.get("type") == "outgoing" and new.changed_by is not None


def _status_change(old: Status, new: Status) -> Kind | None:
    if new is old or old is Status.RESOLVED:
        return None
    if new is Status.RESOLVED:
        return Kind.RESOLVED
    if new in PAUSING and old not in PAUSING:
        return Kind.PAUSED
    if new not in PAUSING and old in PAUSING:
        return Kind.RESUMED
    return None


# ------------------------------------------------------------------ applying them
@dataclass(frozen=True)
class Facts:
    """The conversation as the change left it, and what the clocks are measured in."""

    policy: SlaPolicy | None  # the policy it matches now
    status: Status
    waiting: bool  # a customer message waits for an answer
    hours: BusinessHours
    version: int  # the current sla_version: alerts of other versions are stale


@dataclass(frozen=True)
class Raised:
    alert: Alert
    clock: Clock


@dataclass(frozen=True)
class Advanced:
    state: SlaState
    raised: tuple[Raised, ...] = ()
    stopped: tuple[Outcome, ...] = ()


def advance(state: SlaState, happened: Iterable[Happening], facts: Facts) -> Advanced:
    """Apply a change's happenings to the clocks; returns the new state, the alerts raised and the clocks stopped."""
    happened = list(happened)
    if happened and _name(facts.policy) != state.policy:
        # The admin changed the policies since (or the conversation is older than they are): it moves to the one
        # it matches now.
        happened.insert(0, Happening(Kind.RETARGETED, happened[0].at))
    run = _Run(state, facts)
    for happening in happened:
        run.apply(happening)
    return Advanced(run.state, tuple(run.raised), tuple(run.stopped))


@dataclass
class _Run:
    state: SlaState
    facts: Facts
    raised: list[Raised] = field(default_factory=list)
    stopped: list[Outcome] = field(default_factory=list)

    def apply(self, happening: Happening) -> None:
        handler = {
            Kind.OPENED: self._opened, Kind.REOPENED: self._reopened, Kind.REPLIED: self._replied,
            Kind.CUSTOMER_WAITS: self._customer_waits, Kind.PAUSED: self._paused, Kind.RESUMED: self._resumed,
            Kind.RESOLVED: self._resolved, Kind.RETARGETED: self._retargeted, Kind.ALERT: self._alert,
        }[happening.kind]
        handler(happening)

    # --- cycles and policies
    def _opened(self, happening: Happening) -> None:
        if self.state.cycle == 0:
            self._new_cycle(happening.at)

    def _reopened(self, happening: Happening) -> None:
        self._stop(lambda c: True, happening.at, "resolve")  # none should run; a lost resolve must not leak
        self._new_cycle(happening.at)

    def _new_cycle(self, at: datetime) -> None:
        self._set(policy=_name(self.facts.policy), cycle=self.state.cycle + 1, clocks=())
        self._start(Target.RESOLUTION, at)
        if self.facts.waiting:
            self._start(self._response_target(), at)

    def _retargeted(self, happening: Happening) -> None:
        """Another policy applies: running clocks take its targets (time used so far stays), clocks it lacks stop
        being measured, and targets it adds that apply now start now."""
        policy = self.facts.policy
        if self.state.cycle == 0:
            self._opened(happening)
            return
        if _name(policy) == self.state.policy:
            return
        targets = policy.targets if policy else {}
        kept = tuple(dataclasses.replace(c, seconds=targets[c.target]) for c in self.state.clocks
                     if c.target in targets)
        self._set(policy=_name(policy), clocks=kept)
        self._start(Target.RESOLUTION, happening.at)
        if self.facts.waiting:
            self._start(self._response_target(), happening.at)

    # --- conversation events
    def _replied(self, happening: Happening) -> None:
        self._stop(lambda c: c.target in RESPONSES, happening.at, "reply")
        self._set(answered=True)

    def _customer_waits(self, happening: Happening) -> None:
        self._start(self._response_target(), happening.at)

    def _paused(self, happening: Happening) -> None:
        self._set(clocks=tuple(c.paused(happening.at, self.facts.hours) for c in self.state.clocks))

    def _resumed(self, happening: Happening) -> None:
        self._set(clocks=tuple(c.resumed(happening.at) for c in self.state.clocks))

    def _resolved(self, happening: Happening) -> None:
        self._stop(lambda c: True, happening.at, "resolve")

    def _alert(self, happening: Happening) -> None:
        """A timer raised an alert. Only the current timer's alerts count, and only on a clock that still runs and
        has not had that alert yet; anything else is the trace of a race and changes nothing."""
        parsed = parse_alert_key(happening.alert)
        if parsed is None or parsed[0] != self.facts.version:
            return
        _, target, kind = parsed
        planned = next((a for a in self.state.scheduled if a.target is target and a.kind == kind), None)
        self._set(scheduled=tuple(a for a in self.state.scheduled if a is not planned))
        current = self.state.clock(target)
        if current is None or not current.running or (current.breached_at if kind == BREACH else current.warned):
            return
        at = planned.at if planned else clock.iso(current.moment(1.0 if kind == BREACH else WARNING_SHARE,
                                                                 self.facts.hours))
        flagged = dataclasses.replace(current, warned=True, breached_at=at if kind == BREACH else None)
        self._set(clocks=tuple(flagged if c is current else c for c in self.state.clocks),
                  raised=happening.alert)
        self.raised.append(Raised(Alert(target, kind, at), flagged))

    # --- helpers
    def _response_target(self) -> Target:
        return Target.NEXT_RESPONSE if self.state.answered else Target.FIRST_RESPONSE

    def _start(self, target: Target, at: datetime) -> None:
        """Start ``target``'s clock if the policy has it and no clock of that kind (for a response: of either
        response kind) is unfinished."""
        policy = self.facts.policy
        if (policy is None or policy.name != self.state.policy or target not in policy.targets
                or self.facts.status is Status.RESOLVED):
            return
        kinds = RESPONSES if target in RESPONSES else (target,)
        if any(c.target in kinds for c in self.state.clocks):
            return
        started = Clock(target, policy.targets[target], clock.iso(at),
                        running_since=None if self.facts.status in PAUSING else clock.iso(at))
        self._set(clocks=self.state.clocks + (started,))

    def _stop(self, which: Callable[[Clock], bool], at: datetime, by: str) -> None:
        ended = [c for c in self.state.clocks if which(c)]
        outcomes = tuple(Outcome(c.target, self.state.policy, self.state.cycle, c.seconds, c.started_at,
                                 clock.iso(at), c.elapsed(at, self.facts.hours), by) for c in ended)
        self.stopped.extend(outcomes)
        self._set(clocks=tuple(c for c in self.state.clocks if c not in ended),
                  record=(self.state.record + outcomes)[-MAX_RECORD:])

    def _set(self, **changes: object) -> None:
        self.state = dataclasses.replace(self.state, **changes)  # type: ignore[arg-type]


def _name(policy: SlaPolicy | None) -> str | None:
    return policy.name if policy is not None else None


def settle(state: SlaState, version: int, hours: BusinessHours) -> tuple[SlaState, int]:
    """The state with the alerts still to raise, and the SLA version whose timer raises them. The version moves on
    (and a new timer starts) only when those alerts differ from what the current timer still has to raise, so the
    current timer goes on from a warning to its breach; a timer of an older version can then only do nothing."""
    wanted = schedule(state, hours)
    if wanted == state.scheduled:
        return state, version
    return dataclasses.replace(state, scheduled=wanted), version + 1


def raised_alert(old: Conversation | None, new: Conversation) -> tuple[Target, str] | None:
    """(target, kind) of the alert this change raised, or None: what the notifications announce."""
    before = (old.sla or {}).get("raised") if old is not None else None
    after = (new.sla or {}).get("raised")
    parsed = parse_alert_key(after) if after != before else None
    return (parsed[1], parsed[2]) if parsed else None


# ------------------------------------------------------------------ words
def span(seconds: float) -> str:
    """A duration as the activity lines say it: "45 s", "14 min", "2h", "2h 30 min"."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes = round(whole / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours}h" if not rest else f"{hours}h {rest} min"


def raised_line(raised: Raised, hours: BusinessHours) -> str:
    """The activity line of an alert, as of the moment it was due (the stream may bring it a moment later)."""
    target, seconds = raised.alert.target.label, raised.clock.seconds
    if raised.alert.kind == BREACH:
        return f"SLA {target} overdue ({span(seconds)} target)"
    left = max(0.0, seconds - raised.clock.elapsed(clock.parse_iso(raised.alert.at), hours))
    return f"SLA {target} due in {span(left)} ({span(seconds)} target)"


def missed_line(outcome: Outcome) -> str:
    return f"SLA {outcome.target.label} breached: {span(outcome.seconds)} target, {span(outcome.late)} late"
