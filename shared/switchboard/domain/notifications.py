"""Operator notifications: which events a committed change means, who hears about each, and through which channels.

Pure rules. The notifications service feeds them the conversation before and after a change, or a new message with
its conversation, and keeps, posts and mails what comes out. Mentions in notes are parsed here too, so the syntax the
client autocompletes and the one the server resolves are defined in one place.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from . import sla
from .conversation import Conversation, Status
from .directory import Operator
from .errors import BadRequest
from .message import Message, MessageType
from .tasks import Task, TaskStatus


class Event(StrEnum):
    NEW_CONVERSATION = "new_conversation"
    ASSIGNED = "assigned"
    NEW_MESSAGE = "new_message"
    MENTION = "mention"
    SNOOZE_WOKE = "snooze_woke"
    # Declared so operators can choose their channels now; the SLA and task features raise them.
    SLA_WARNING = "sla_warning"
    SLA_BREACH = "sla_breach"
    TASK_ASSIGNED = "task_assigned"
    TASK_OVERDUE = "task_overdue"


class Channel(StrEnum):
    IN_APP = "in_app"  # the bell in the client, live over the socket and listed after a reload
    EMAIL = "email"
    BROWSER = "browser"  # the browser's own notification, shown by the client while its tab is hidden


_EVERYWHERE = frozenset(Channel)
_LIVE = frozenset({Channel.IN_APP, Channel.BROWSER})

# Each event's label in the preferences panel and its default channels: e-mail only for what is personal and rare.
CATALOGUE: dict[Event, tuple[str, frozenset[Channel]]] = {
    Event.NEW_CONVERSATION: ("New conversation in my teams", _LIVE),
    Event.ASSIGNED: ("A conversation is assigned to me", _EVERYWHERE),
    Event.NEW_MESSAGE: ("New message in my conversations", _LIVE),
    Event.MENTION: ("Someone mentions me in a note", _EVERYWHERE),
    Event.SNOOZE_WOKE: ("A snoozed conversation of mine wakes up", _LIVE),
    Event.SLA_WARNING: ("An SLA target is about to be missed", _EVERYWHERE),
    Event.SLA_BREACH: ("An SLA target was missed", _EVERYWHERE),
    Event.TASK_ASSIGNED: ("A task is assigned to me", _EVERYWHERE),
    Event.TASK_OVERDUE: ("A task of mine is overdue", _EVERYWHERE),
}

# When one change means several events for the same operator, they hear only the most specific one: a note that
# mentions the assignee is a mention, not also a new message.
_PRIORITY = [Event.MENTION, Event.ASSIGNED, Event.SLA_BREACH, Event.SLA_WARNING, Event.TASK_ASSIGNED,
             Event.TASK_OVERDUE, Event.SNOOZE_WOKE, Event.NEW_CONVERSATION, Event.NEW_MESSAGE]

PREVIEW_CHARS = 280


# ------------------------------------------------------------------ preferences
@dataclass(frozen=True)
class Preferences:
    """An operator's channels per event. ``chosen`` holds what they set; every other event keeps its default."""

    chosen: Mapping[Event, frozenset[Channel]] = field(default_factory=dict)

    def channels(self, event: Event) -> frozenset[Channel]:
        return self.chosen.get(event, CATALOGUE[event][1])

    def to_dict(self) -> dict[str, list[str]]:
        """Every event with its effective channels, as the API shows them."""
        return {str(event): sorted(str(channel) for channel in self.channels(event)) for event in Event}

    def chosen_dict(self) -> dict[str, list[str]]:
        """Only what the operator set, as it is stored: a later change of a default still reaches the rest."""
        return {str(event): sorted(str(channel) for channel in channels) for event, channels in self.chosen.items()}

    @classmethod
    def from_stored(cls, data: Mapping[str, Iterable[str]] | None) -> Preferences:
        """Stored choices; an event or channel this version no longer knows is ignored rather than failing."""
        known_events, known_channels = {str(e) for e in Event}, {str(c) for c in Channel}
        return cls({Event(event): frozenset(Channel(c) for c in channels if c in known_channels)
                    for event, channels in (data or {}).items() if event in known_events})


def parse_preferences(data: object) -> Preferences:
    """``{event: [channel, …]}`` from an operator. Unknown names are refused, so a typo never silently mutes."""
    if not isinstance(data, dict):
        raise BadRequest("preferences must be an object of event → list of channels.")
    chosen: dict[Event, frozenset[Channel]] = {}
    for event, channels in data.items():
        if event not in {str(e) for e in Event}:
            raise BadRequest(f"Unknown event '{event}'; use one of {', '.join(Event)}.")
        if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
            raise BadRequest(f"The channels of '{event}' must be a list of {', '.join(Channel)}.")
        unknown = sorted(set(channels) - {str(c) for c in Channel})
        if unknown:
            raise BadRequest(f"Unknown channel '{unknown[0]}'; use {', '.join(Channel)}.")
        chosen[Event(event)] = frozenset(Channel(c) for c in channels)
    return Preferences(chosen)


# ------------------------------------------------------------------ mentions
# "@" at the start or after anything but a word character, a dot or another "@" (so "ada@example.org" is an address,
# not a mention), then a handle: letters, digits and . _ + - as in an e-mail's local part.
_MENTION = re.compile(r"(?<![\w.@])@(\w[\w.+-]*)")


def mention_handles(text: str) -> tuple[str, ...]:
    """The handles ``text`` mentions, lower-cased, in order, each once. A trailing . + or - ends the sentence,
    not the handle ("ask @anna." mentions anna)."""
    found = (match.rstrip(".+-").casefold() for match in _MENTION.findall(text or ""))
    return tuple(dict.fromkeys(handle for handle in found if handle))


def handles_of(operator: Operator) -> set[str]:
    """How a note can name ``operator``: the local part of their e-mail, or their first name (case-insensitive)."""
    names = {operator.email.split("@", 1)[0].casefold()}
    first_name = (operator.name or "").split()
    if first_name:
        names.add(first_name[0].casefold())
    return {name for name in names if name}


def mention_handle(operator: Operator) -> str:
    """The handle the client inserts when it autocompletes ``operator``: the e-mail's local part."""
    return operator.email.split("@", 1)[0]


def mentioned(handles: Iterable[str], operators: Iterable[Operator]) -> list[Operator]:
    """The operators ``handles`` name. A handle that fits nobody, or more than one operator, names nobody: guessing
    would tell the wrong person."""
    owners: dict[str, dict[str, Operator]] = {}
    for operator in operators:
        for handle in handles_of(operator):
            owners.setdefault(handle, {})[operator.id] = operator
    found: dict[str, Operator] = {}
    for handle in handles:
        candidates = owners.get(handle.casefold(), {})
        if len(candidates) == 1:
            operator = next(iter(candidates.values()))
            found.setdefault(operator.id, operator)
    return list(found.values())


# ------------------------------------------------------------------ events
@dataclass(frozen=True)
class Occurrence:
    """Something operators may want to hear about, before it is addressed to anyone.

    Exactly one way of addressing is used: ``operator_ids``, the members of ``team_id`` (only those with one of
    ``roles``, if given), or the operators the ``mentions`` name."""

    event: Event
    key: str  # unique per occurrence and stable when the stream delivers the same change again
    conversation: Conversation
    actor_id: str | None = None  # whoever caused it; never told about it
    operator_ids: tuple[str, ...] = ()
    team_id: str | None = None
    roles: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    message: Message | None = None


@dataclass(frozen=True)
class Notification:
    key: str  # deterministic per (occurrence, recipient): the idempotency key of keeping, posting and mailing it
    tenant_id: str
    recipient_id: str
    event: Event
    conversation_id: str | None
    title: str
    body: str
    actor_id: str | None = None


def conversation_occurrences(old: Conversation | None, new: Conversation) -> list[Occurrence]:
    """What a change of a conversation (``old`` is None for a new one) means to operators."""
    key = f"{new.id}@{new.version}"
    actor = new.changed_by
    found = []
    arrived_in_team = new.team_id is not None and (old is None or old.team_id != new.team_id)
    if arrived_in_team and new.status is not Status.RESOLVED:
        found.append(Occurrence(Event.NEW_CONVERSATION, key, new, actor, team_id=new.team_id))
    if new.assignee_id is not None and (old is None or old.assignee_id != new.assignee_id):
        found.append(Occurrence(Event.ASSIGNED, key, new, actor, operator_ids=(new.assignee_id,)))
    if _woke(old, new) and new.assignee_id is not None:
        found.append(Occurrence(Event.SNOOZE_WOKE, key, new, None, operator_ids=(new.assignee_id,)))
    return found + _sla_occurrences(old, new)


def _sla_occurrences(old: Conversation | None, new: Conversation) -> list[Occurrence]:
    """An SLA warning or breach the change raised: for the assignee and the supervisors of the team, before and
    after the change (an escalation may have just unassigned it or moved it to another team)."""
    raised = sla.raised_alert(old, new)
    if raised is None:
        return []
    event = Event.SLA_BREACH if raised[1] == sla.BREACH else Event.SLA_WARNING
    key = f"{new.id}@sla:{new.sla.get('raised')}"
    before = [old.assignee_id, old.team_id] if old is not None else [None, None]
    assignees = tuple(dict.fromkeys(filter(None, [before[0], new.assignee_id])))
    found = [Occurrence(event, key, new, None, operator_ids=assignees)] if assignees else []
    for team_id in dict.fromkeys(filter(None, [before[1], new.team_id])):
        found.append(Occurrence(event, key, new, None, team_id=team_id, roles=("supervisor",)))
    return found


def _woke(old: Conversation | None, new: Conversation) -> bool:
    """Woken by its timer (which stamps ``woke_at``), not by the contact writing or an operator unsnoozing."""
    return (old is not None and old.status is Status.SNOOZED and new.status is Status.OPEN
            and new.woke_at is not None and new.woke_at != old.woke_at)


def message_occurrences(message: Message, conversation: Conversation) -> list[Occurrence]:
    """What a new message means: a mention for the operators a note names, and a new message for the operators the
    conversation is theirs (its assignee and participants). Automated messages and activity lines tell nobody."""
    by_operator = message.type in (MessageType.OUTGOING, MessageType.NOTE) and message.author_id is not None
    if message.type is not MessageType.INCOMING and not by_operator:
        return []
    actor = message.author_id if by_operator else None
    found = []
    if message.type is MessageType.NOTE:
        handles = mention_handles(message.text)
        if handles:
            found.append(Occurrence(Event.MENTION, message.id, conversation, actor, mentions=handles, message=message))
    followers = tuple(dict.fromkeys(filter(None, [conversation.assignee_id, *conversation.participants])))
    if followers:
        found.append(Occurrence(Event.NEW_MESSAGE, message.id, conversation, actor, operator_ids=followers,
                                message=message))
    return found


def address(occurrences: Iterable[Occurrence], operators: Iterable[Operator],
            names: Mapping[str, str]) -> list[Notification]:
    """The notifications of one change: at most one per operator (the most specific event), never to whoever
    caused it, and only to operators who may see the conversation. ``names``: display names by id."""
    everyone = list(operators)
    chosen: dict[str, Notification] = {}
    for occurrence in sorted(occurrences, key=lambda o: _PRIORITY.index(o.event)):
        for operator in _audience(occurrence, everyone):
            if operator.id == occurrence.actor_id or operator.id in chosen:
                continue
            if occurrence.conversation.visible_to(operator.view()):
                chosen[operator.id] = _notification(occurrence, operator, names)
    return list(chosen.values())


def _audience(occurrence: Occurrence, operators: list[Operator]) -> list[Operator]:
    if occurrence.mentions:
        return mentioned(occurrence.mentions, operators)
    if occurrence.team_id is not None:
        return [operator for operator in operators if occurrence.team_id in operator.team_ids
                and (not occurrence.roles or operator.role in occurrence.roles)]
    wanted = set(occurrence.operator_ids)
    return [operator for operator in operators if operator.id in wanted]


def notification_key(event: Event, occurrence_key: str, recipient_id: str) -> str:
    return hashlib.sha256(f"{event}|{occurrence_key}|{recipient_id}".encode()).hexdigest()[:32]


def _notification(occurrence: Occurrence, operator: Operator, names: Mapping[str, str]) -> Notification:
    title, body = _wording(occurrence, names)
    conversation = occurrence.conversation
    return Notification(
        key=notification_key(occurrence.event, occurrence.key, operator.id), tenant_id=conversation.tenant_id,
        recipient_id=operator.id, event=occurrence.event, conversation_id=conversation.id, title=title,
        body=body[:PREVIEW_CHARS], actor_id=occurrence.actor_id,
    )


def _wording(occurrence: Occurrence, names: Mapping[str, str]) -> tuple[str, str]:
    """Title and body, short enough for a browser notification and an e-mail subject."""
    conversation, message = occurrence.conversation, occurrence.message
    contact = conversation.contact_name or "A customer"
    actor = names.get(occurrence.actor_id or "") or "A colleague"
    last = (conversation.last_message or {}).get("text") or ""
    if occurrence.event is Event.MENTION and message is not None:
        return f"{message.author_name or actor} mentioned you", message.text
    if occurrence.event is Event.NEW_MESSAGE and message is not None:
        return _message_title(message, contact), message.text or "(attachment)"
    if occurrence.event is Event.ASSIGNED:
        who = f"{actor} assigned you" if occurrence.actor_id else "You were assigned"
        return f"{who} a conversation with {contact}", last
    if occurrence.event is Event.NEW_CONVERSATION:
        team = names.get(conversation.team_id or "") or "your team"
        return f"New conversation in {team}", f"{contact}: {last}" if last else contact
    if occurrence.event in (Event.SLA_WARNING, Event.SLA_BREACH):
        return _sla_wording(conversation, contact)
    if occurrence.event is Event.SNOOZE_WOKE:
        return f"The conversation with {contact} woke up", last
    return CATALOGUE[occurrence.event][0], last


def _message_title(message: Message, contact: str) -> str:
    if message.type is MessageType.INCOMING:
        return f"New message from {contact}"
    author = message.author_name or "A colleague"
    if message.type is MessageType.NOTE:
        return f"{author} added a note on {contact}"
    return f"{author} replied to {contact}"


# ------------------------------------------------------------------ tasks
def task_notifications(old: Task | None, new: Task, names: Mapping[str, str]) -> list[Notification]:
    """What a change of a task (``old`` is None for a new one) means to its assignee: its deadline passed (the timer
    stamped ``overdue_at``), or it was given to them, on creation or later. Nobody hears of their own doing."""
    if new.assignee_id is None:
        return []
    became_overdue = new.overdue_at is not None and (old is None or old.overdue_at != new.overdue_at)
    if became_overdue and new.status is not TaskStatus.DONE:
        event, actor = Event.TASK_OVERDUE, None
        title = f"Task #{new.number} is overdue"
    elif (old is None or old.assignee_id != new.assignee_id) and new.changed_by != new.assignee_id:
        event, actor = Event.TASK_ASSIGNED, new.changed_by
        who = names.get(actor or "") or "A colleague"
        title = f"{who} assigned you task #{new.number}"
    else:
        return []
    return [Notification(
        key=notification_key(event, f"task:{new.id}@{new.version}", new.assignee_id), tenant_id=new.tenant_id,
        recipient_id=new.assignee_id, event=event, conversation_id=new.conversation_id, title=title,
        body=new.title[:PREVIEW_CHARS], actor_id=actor,
    )]


def _sla_wording(conversation: Conversation, contact: str) -> tuple[str, str]:
    raised = sla.parse_alert_key(conversation.sla.get("raised"))
    if raised is None:
        return "SLA alert", contact
    _, target, kind = raised
    running = sla.SlaState.from_dict(conversation.sla).clock(target)
    goal = f"the {sla.span(running.seconds)} {target.label} target" if running else f"the {target.label} target"
    if kind == sla.BREACH:
        return f"SLA {target.label} breached: {contact}", f"{goal[0].upper()}{goal[1:]} has passed."
    return f"SLA {target.label} due soon: {contact}", f"80 % of {goal} is used."
