"""Distribution rules: which team a new conversation goes to (routing rules, first match wins), who in the team
gets an unassigned conversation next (round robin over members with room under the cap), and which changes put
conversations into a team's backlog or free an operator's slot. Pure: no storage, no clock, no event shapes."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from .conversation import Conversation, Status
from .errors import BadRequest, Conflict

AVAILABLE, AWAY = "available", "away"
AVAILABILITIES = (AVAILABLE, AWAY)

RULE_KINDS = ("inbox", "channel", "page_url", "contact_attribute", "keyword")
CONTACT_ATTRIBUTES = ("name", "username", "email", "phone", "language")
MAX_RULES = 50
MAX_VALUES = 20
MAX_VALUE_LENGTH = 200
MAX_NAME_LENGTH = 80
MAX_CAP = 1000
_RULE_FIELDS = {"name", "team_id", "kind", "value", "attribute"}


# ------------------------------------------------------------------ routing rules
@dataclass(frozen=True)
class Facts:
    """What a rule may look at when a conversation opens: all of it is in the webhook, so routing costs no reads."""

    inbox_id: str
    channel: str
    text: str = ""
    page_url: str | None = None
    contact: Mapping[str, str | None] = field(default_factory=dict)  # CONTACT_ATTRIBUTES


@dataclass(frozen=True)
class RoutingRule:
    """``kind`` says what is compared; the rule matches when any of ``values`` does:

    - ``inbox`` / ``channel``: the conversation's inbox id / channel name, exactly;
    - ``page_url``: the widget page the visitor wrote from contains the value (case-insensitive);
    - ``contact_attribute``: the contact's ``attribute`` matches the value as a glob (``*@bigcorp.com``, ``de``);
    - ``keyword``: the first message contains the value as a whole word or phrase (case-insensitive).
    """

    name: str
    team_id: str
    kind: str
    values: tuple[str, ...]
    attribute: str | None = None

    def matches(self, facts: Facts) -> bool:
        return any(_MATCHERS[self.kind](self, value, facts) for value in self.values)

    def to_dict(self) -> dict:
        data = {"name": self.name, "team_id": self.team_id, "kind": self.kind, "value": list(self.values)}
        return data | ({"attribute": self.attribute} if self.attribute else {})

    @classmethod
    def from_dict(cls, data: Mapping) -> RoutingRule:
        """A rule as stored: it was validated by ``parse_rules`` on the way in."""
        value = data["value"]
        values = (value,) if isinstance(value, str) else tuple(value)
        return cls(name=data["name"], team_id=data["team_id"], kind=data["kind"], values=values,
                   attribute=data.get("attribute"))


def _contains_phrase(text: str, phrase: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text, re.IGNORECASE) is not None


def _contact_matches(rule: RoutingRule, pattern: str, facts: Facts) -> bool:
    actual = facts.contact.get(rule.attribute or "")
    return bool(actual) and fnmatchcase(str(actual).casefold(), pattern.casefold())


_MATCHERS: dict[str, Callable[[RoutingRule, str, Facts], bool]] = {
    "inbox": lambda rule, value, facts: facts.inbox_id == value,
    "channel": lambda rule, value, facts: facts.channel == value,
    "page_url": lambda rule, value, facts: bool(facts.page_url) and value.casefold() in facts.page_url.casefold(),
    "contact_attribute": _contact_matches,
    "keyword": lambda rule, value, facts: _contains_phrase(facts.text or "", value),
}


def first_match(rules: Iterable[RoutingRule], facts: Facts) -> RoutingRule | None:
    """Rules are an ordered list: the first that matches decides the team."""
    return next((rule for rule in rules if rule.matches(facts)), None)


def parse_rules(raw: object, *, teams: Collection[str], inboxes: Collection[str],
                channels: Collection[str]) -> list[RoutingRule]:
    """The rules an admin sent, checked against the workspace; BadRequest names the rule and what is wrong."""
    if not isinstance(raw, list):
        raise BadRequest("Give 'rules': a list of routing rules, in the order they are tried.")
    if len(raw) > MAX_RULES:
        raise BadRequest(f"At most {MAX_RULES} routing rules are allowed; got {len(raw)}.")
    rules = [_parse_rule(item, position, teams, inboxes, channels) for position, item in enumerate(raw, 1)]
    names = [rule.name.casefold() for rule in rules]
    for position, name in enumerate(names, 1):
        if names.index(name) + 1 != position:
            raise BadRequest(f"Rule {position}: the name '{rules[position - 1].name}' is used twice; "
                             "give each rule its own name.")
    return rules


def _parse_rule(item: object, position: int, teams: Collection[str], inboxes: Collection[str],
                channels: Collection[str]) -> RoutingRule:
    if not isinstance(item, dict):
        raise BadRequest(f"Rule {position} must be an object with name, team_id, kind and value.")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME_LENGTH:
        raise BadRequest(f"Rule {position}: 'name' must be text of 1–{MAX_NAME_LENGTH} characters.")
    label = f"Rule {position} ('{name.strip()}')"
    unknown = sorted(set(item) - _RULE_FIELDS)
    if unknown:
        raise BadRequest(f"{label}: unknown field '{unknown[0]}'; a rule has {', '.join(sorted(_RULE_FIELDS))}.")
    if item.get("team_id") not in teams:
        raise BadRequest(f"{label}: team_id must name a team of this workspace.")
    kind = item.get("kind")
    if kind not in RULE_KINDS:
        raise BadRequest(f"{label}: 'kind' must be one of {', '.join(RULE_KINDS)}.")
    values = _values(item.get("value"), label)
    attribute = _attribute(item.get("attribute"), kind, label)
    allowed = {"inbox": inboxes, "channel": channels}.get(kind)
    if allowed is not None:
        wrong = [value for value in values if value not in allowed]
        if wrong:
            raise BadRequest(f"{label}: '{wrong[0]}' is not {'an inbox' if kind == 'inbox' else 'a channel'} "
                             "of this workspace.")
    return RoutingRule(name=name.strip(), team_id=item["team_id"], kind=kind, values=values, attribute=attribute)


def _values(raw: object, label: str) -> tuple[str, ...]:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items or len(items) > MAX_VALUES:
        raise BadRequest(f"{label}: 'value' must be text or a list of 1–{MAX_VALUES} texts.")
    values = tuple(value.strip() for value in items if isinstance(value, str))
    if len(values) != len(items) or not all(0 < len(value) <= MAX_VALUE_LENGTH for value in values):
        raise BadRequest(f"{label}: every value must be text of 1–{MAX_VALUE_LENGTH} characters.")
    return values


def _attribute(raw: object, kind: str, label: str) -> str | None:
    if kind != "contact_attribute":
        if raw is not None:
            raise BadRequest(f"{label}: 'attribute' belongs only to contact_attribute rules.")
        return None
    if raw not in CONTACT_ATTRIBUTES:
        raise BadRequest(f"{label}: 'attribute' must be one of {', '.join(CONTACT_ATTRIBUTES)}.")
    return str(raw)


# ------------------------------------------------------------------ team settings and availability
@dataclass(frozen=True)
class TeamSettings:
    auto_assign: bool = False
    assignment_cap: int | None = None  # open conversations per operator that round robin fills up to; None: no cap

    def updated(self, body: Mapping) -> TeamSettings:
        """These settings with an admin's PATCH applied; BadRequest says what is wrong."""
        known = {"auto_assign", "assignment_cap"}
        unknown = sorted(set(body) - known)
        if unknown:
            raise BadRequest(f"Unknown field '{unknown[0]}'; a team's settings are auto_assign and assignment_cap.")
        if not known & set(body):
            raise BadRequest("Give auto_assign (true or false) and/or assignment_cap (a number or null).")
        auto_assign = body.get("auto_assign", self.auto_assign)
        if not isinstance(auto_assign, bool):
            raise BadRequest("auto_assign must be true or false.")
        cap = body.get("assignment_cap", self.assignment_cap)
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= MAX_CAP):
            raise BadRequest(f"assignment_cap must be a whole number from 1 to {MAX_CAP}, or null for no cap.")
        return TeamSettings(auto_assign=auto_assign, assignment_cap=cap)


def parse_availability(raw: object) -> str:
    if raw not in AVAILABILITIES:
        raise BadRequest("availability must be 'available' or 'away'.")
    return str(raw)


# ------------------------------------------------------------------ round robin
def has_room(open_count: int, cap: int | None) -> bool:
    return cap is None or open_count < cap


def next_in_turn(members: Collection[str], last: str | None, room: Callable[[str], bool]) -> str | None:
    """The member after ``last`` in a fixed order (by id), skipping those without room; None if nobody has room.

    The order is by id, not by who is online, so the turn stays fair while people come and go; ``last`` need not
    be a member any more (they left the team or went away): the turn continues from where they stood.
    """
    order = sorted(members)
    start = bisect_right(order, last) if last else 0
    for step in range(len(order)):
        candidate = order[(start + step) % len(order)]
        if room(candidate):
            return candidate
    return None


def oldest_first(conversations: Iterable[Conversation]) -> list[Conversation]:
    """The backlog in the order it is handed out: whoever has waited longest first."""
    return sorted(conversations, key=lambda c: (c.waiting_since or c.last_activity_at or c.created_at, c.id))


# ------------------------------------------------------------------ what a change means for distribution
def awaits_owner(conversation: Conversation | None) -> bool:
    """Open, in a team, and nobody's: round robin may hand it out."""
    return (conversation is not None and conversation.status is Status.OPEN and conversation.assignee_id is None
            and conversation.team_id is not None)


def joins_backlog(old: Conversation | None, new: Conversation | None) -> bool:
    """The change put ``new`` into its team's backlog (it is new, was unassigned, reopened, woke or moved team)."""
    stayed = awaits_owner(old) and old.team_id == new.team_id  # type: ignore[union-attr]
    return awaits_owner(new) and not stayed


def freed_slot(old: Conversation | None, new: Conversation | None) -> str | None:
    """The operator whose open conversation this change took away (resolved, snoozed, set pending, reassigned)."""
    if old is None or old.status is not Status.OPEN or old.assignee_id is None:
        return None
    still_holds = new is not None and new.status is Status.OPEN and new.assignee_id == old.assignee_id
    return None if still_holds else old.assignee_id



@dataclass(frozen=True)
class Routed:
    """A routing rule's decision for a new conversation, and the activity line that explains it."""

    team_id: str
    note: str


class AlreadyTaken(Conflict):
    """Someone else holds the conversation; the problem document says who, and the conversation's version."""

    code = "already_assigned"
    title = "Someone else has this conversation"
