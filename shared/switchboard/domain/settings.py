"""A conversation's settings — title, priority, tags, participants, request type, reasons, components — and the
rules for changing them. Pure: the service reads, calls these, and writes."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from . import clock
from .conversation import Conversation, Status
from .errors import BadRequest, IllegalTransition

PRIORITIES = ("low", "normal", "high", "urgent")
MAX_TITLE = 200
MAX_TAG = 40
MAX_TAGS = 20
MAX_PARTICIPANTS = 20
MAX_CATALOGUE = 100
MAX_CATALOGUE_ENTRY = 60
CATALOGUES = ("request_types", "reasons", "components")
DEFAULT_CATALOGUES = {"request_types": ["Support", "Refund"], "reasons": [], "components": []}
OPERATOR_ACTIVE = timedelta(minutes=10)  # after an operator's reply or note, automation keeps quiet this long

_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Catalogues:
    """The dialog settings: what request types, reasons and components a conversation may carry."""

    request_types: list[str] = field(default_factory=lambda: list(DEFAULT_CATALOGUES["request_types"]))
    reasons: list[str] = field(default_factory=list)
    components: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, list[str]]:
        return {name: list(getattr(self, name)) for name in CATALOGUES}


def normalize_tag(value: object) -> str:
    """Tags are compared and stored in one spelling: trimmed, single-spaced, lower case."""
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("A tag must be a non-empty string.")
    tag = _SPACES.sub(" ", value.strip()).lower()
    if len(tag) > MAX_TAG:
        raise BadRequest(f"A tag may be at most {MAX_TAG} characters long.")
    if any(ch in tag for ch in "#,"):
        raise BadRequest("A tag may not contain '#' or ','.")
    return tag


def catalogue_values(name: str, values: object) -> list[str]:
    """A catalogue as the admin typed it: unique (case-insensitively), trimmed, in the given order."""
    if name not in CATALOGUES:
        raise BadRequest(f"Unknown catalogue '{name}'; use one of {', '.join(CATALOGUES)}.")
    if not isinstance(values, list) or len(values) > MAX_CATALOGUE:
        raise BadRequest(f"{name} must be a list of at most {MAX_CATALOGUE} names.")
    cleaned: list[str] = []
    for value in values:
        if not isinstance(value, str) or not value.strip() or len(value.strip()) > MAX_CATALOGUE_ENTRY:
            raise BadRequest(f"Each entry of {name} must be a name of 1–{MAX_CATALOGUE_ENTRY} characters.")
        text = _SPACES.sub(" ", value.strip())
        if text.lower() in (existing.lower() for existing in cleaned):
            raise BadRequest(f"'{text}' appears twice in {name}.")
        cleaned.append(text)
    return cleaned


def require_editable(conversation: Conversation, what: str) -> None:
    """A resolved conversation is read-only except for notes and tags."""
    if conversation.status is Status.RESOLVED:
        raise IllegalTransition(f"Cannot change the {what} of a resolved conversation: reopen it first.",
                                status="resolved")


@dataclass(frozen=True)
class Patch:
    """The fields an operator may set in one request; None means "leave as is" (title: "" clears it)."""

    title: str | None = None
    priority: str | None = None
    request_type: str | None = None
    reasons: list[str] | None = None
    components: list[str] | None = None

    @classmethod
    def parse(cls, body: dict) -> Patch:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(body) - known - {"version"})
        if unknown:
            raise BadRequest(f"Unknown field '{unknown[0]}'; a conversation's settings are {', '.join(sorted(known))}.")
        if not any(name in body for name in known):
            raise BadRequest(f"Give at least one of {', '.join(sorted(known))}.")
        title = body.get("title")
        if title is not None and (not isinstance(title, str) or len(title.strip()) > MAX_TITLE):
            raise BadRequest(f"title must be a string of at most {MAX_TITLE} characters (\"\" clears it).")
        priority = body.get("priority")
        if priority is not None and priority not in PRIORITIES:
            raise BadRequest(f"Unknown priority '{priority}'; use one of {', '.join(PRIORITIES)}.")
        request_type = body.get("request_type")
        if request_type is not None and not isinstance(request_type, str):
            raise BadRequest("request_type must be a name from the request types (\"\" clears it).")
        lists = {name: body.get(name) for name in ("reasons", "components")}
        for name, values in lists.items():
            if values is not None and (not isinstance(values, list) or not all(isinstance(v, str) for v in values)):
                raise BadRequest(f"{name} must be a list of names.")
        return cls(title=title.strip() if isinstance(title, str) else None, priority=priority,
                   request_type=request_type, **lists)

    def apply(self, conversation: Conversation, catalogues: Catalogues) -> tuple[Conversation, list[str]]:
        """The changed conversation and one human line per change ("set priority to high")."""
        require_editable(conversation, "settings")
        changes: dict = {}
        lines: list[str] = []
        if self.title is not None and (self.title or None) != conversation.title:
            changes["title"] = self.title or None
            lines.append(f"renamed this to “{self.title}”" if self.title else "cleared the title")
        if self.priority is not None and self.priority != conversation.priority:
            changes["priority"] = self.priority
            lines.append(f"set priority to {self.priority}")
        if self.request_type is not None and (self.request_type or None) != conversation.request_type:
            value = _pick(self.request_type, catalogues.request_types, "request type") if self.request_type else None
            changes["request_type"] = value
            lines.append(f"set request type to {value}" if value else "cleared the request type")
        for name, allowed in (("reasons", catalogues.reasons), ("components", catalogues.components)):
            values = getattr(self, name)
            if values is None:
                continue
            picked = _unique([_pick(value, allowed, name[:-1]) for value in values])
            if picked != getattr(conversation, name):
                changes[name] = picked
                lines.append(f"set {name} to {', '.join(picked)}" if picked else f"cleared the {name}")
        return dataclasses.replace(conversation, **changes), lines


def _pick(value: str, allowed: list[str], what: str) -> str:
    """The catalogue's own spelling of ``value`` (case-insensitive), or a 400 naming the choices."""
    for entry in allowed:
        if entry.lower() == value.strip().lower():
            return entry
    choices = ", ".join(allowed) or "none yet: someone who can edit dialog settings must add them"
    raise BadRequest(f"Unknown {what} '{value}'; choose from: {choices}.")


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def add_tag(conversation: Conversation, tag: str) -> Conversation | None:
    """The conversation with ``tag`` added, or None if it already has it. Allowed on resolved conversations."""
    if tag in conversation.tags:
        return None
    if len(conversation.tags) >= MAX_TAGS:
        raise BadRequest(f"A conversation can carry at most {MAX_TAGS} tags.")
    return dataclasses.replace(conversation, tags=[*conversation.tags, tag])


def remove_tag(conversation: Conversation, tag: str) -> Conversation | None:
    if tag not in conversation.tags:
        return None
    return dataclasses.replace(conversation, tags=[t for t in conversation.tags if t != tag])


def add_participant(conversation: Conversation, operator_id: str) -> Conversation | None:
    require_editable(conversation, "participants")
    if operator_id in conversation.participants:
        return None
    if len(conversation.participants) >= MAX_PARTICIPANTS:
        raise BadRequest(f"A conversation can have at most {MAX_PARTICIPANTS} participants.")
    return dataclasses.replace(conversation, participants=[*conversation.participants, operator_id])


def remove_participant(conversation: Conversation, operator_id: str) -> Conversation | None:
    require_editable(conversation, "participants")
    if operator_id not in conversation.participants:
        return None
    return dataclasses.replace(conversation, participants=[p for p in conversation.participants if p != operator_id])


def automation_held(conversation: Conversation, now: datetime) -> str | None:
    """Why an automated message (auto-reply, bot answer) must wait, or None if it may go out.

    Automation keeps quiet while a person is handling the conversation: it is open and assigned, or an operator
    replied or wrote a note in it during the last few minutes.
    """
    if conversation.status is Status.RESOLVED:
        return "the conversation is resolved"
    if conversation.status is Status.OPEN and conversation.assignee_id:
        return "an operator is handling this conversation"
    active_until = conversation.operator_active_until
    if active_until and active_until > clock.iso(now):
        return "an operator was active in this conversation a moment ago"
    return None
