"""Contacts across channels: which addresses a platform vouches for, how addresses and names are compared, and
what an operator's edit or a tenant's event may contain."""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from . import clock
from .errors import BadRequest
from .inbound import InboundMessage
from .settings import normalize_tag

# A platform that delivers from a phone number has verified it (WhatsApp's wa_id, the SMS sender). An e-mail
# sender is verified only when SES saw it pass SPF or DKIM; an address typed into the widget never is.
_PHONE_VERIFYING_CHANNELS = frozenset({"whatsapp", "twilio"})


def normalize_phone(phone: str | None) -> str | None:
    """E.164-ish: digits with a leading +, so "+44 7700 900123" and "447700900123" are the same person."""
    if not phone:
        return None
    digits = re.sub(r"\D", "", phone)
    return f"+{digits}" if len(digits) >= 7 else None


def normalize_email(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    return email.strip().lower()


def verified_addresses(channel: str, event: InboundMessage) -> tuple[tuple[str, str], ...]:
    """The (kind, value) pairs of ``event``'s sender that its platform vouches for: safe to link contacts on."""
    found = []
    phone = normalize_phone(event.profile.phone)
    if phone and channel in _PHONE_VERIFYING_CHANNELS:
        found.append(("phone", phone))
    email = normalize_email(event.profile.email)
    if email and channel == "email" and event.meta.get("sender_authenticated"):
        found.append(("email", email))
    return tuple(found)


# ------------------------------------------------------------------ blocked contacts

HIDDEN_PREFIX = "hidden-"


def hidden_conversation_id(contact_id: str) -> str:
    """Where a blocked contact's messages are kept: a conversation id that has no conversation item, so no list,
    index, socket or notification ever sees them, while the contact's timeline still reads them."""
    return f"{HIDDEN_PREFIX}{contact_id}"


def is_hidden_conversation(conversation_id: str | None) -> bool:
    return bool(conversation_id) and conversation_id.startswith(HIDDEN_PREFIX)  # type: ignore[union-attr]


# ------------------------------------------------------------------ search

MAX_NAME_WORDS = 8  # a name's first words are searchable; nobody searches by the ninth
MAX_WORD = 40
MAX_QUERY = 200
MIN_PHONE_PREFIX = 3


def name_words(name: str | None) -> list[str]:
    """The words a contact is found by, in one spelling: case- and accent-insensitive ("Zoë" is found by "zoe")."""
    folded = unicodedata.normalize("NFKD", name or "").casefold()
    plain = "".join(ch for ch in folded if not unicodedata.combining(ch))
    words = [word[:MAX_WORD] for word in re.findall(r"\w+", plain)]
    return list(dict.fromkeys(words))[:MAX_NAME_WORDS]


@dataclass(frozen=True)
class SearchQuery:
    """What a search box query means: which lookup keys to read (``kind``, ``prefix``) and, for names, the words
    every hit must also start (so "ada lo" finds "Ada Lovelace" but not "Ada Smith")."""

    kind: str  # "name" | "phone" | "email"
    prefix: str
    words: tuple[str, ...] = ()

    def matches(self, name: str | None) -> bool:
        if self.kind != "name":
            return True
        have = name_words(name)
        return all(any(word.startswith(wanted) for word in have) for wanted in self.words)


def search_query(text: object) -> SearchQuery:
    """An e-mail if it has an @, a phone if it is digits in any format (normalized like stored phones), else a
    name. Every kind matches by prefix, so a half-typed query already finds."""
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("Give q: a name, a phone number or an e-mail address to search for.")
    query = text.strip()
    if len(query) > MAX_QUERY:
        raise BadRequest(f"The search text is too long (at most {MAX_QUERY} characters).")
    if "@" in query:
        return SearchQuery("email", query.lower())
    digits = re.sub(r"\D", "", query)
    if re.fullmatch(r"[+\d\s().\-/]+", query) and digits:
        if len(digits) < MIN_PHONE_PREFIX:
            raise BadRequest(f"Type at least {MIN_PHONE_PREFIX} digits to search by phone.")
        return SearchQuery("phone", f"+{digits}")
    words = name_words(query)
    if not words:
        raise BadRequest("Search by a name, a phone number or an e-mail address.")
    return SearchQuery("name", max(words, key=len), tuple(words))


# ------------------------------------------------------------------ editing a card

EDITABLE = ("name", "email", "phone", "language", "attributes", "tags")
MAX_NAME = 200
MAX_EMAIL = 254
MAX_PHONE_DIGITS = 15  # E.164
MAX_ATTRIBUTES = 50
MAX_ATTRIBUTE_TEXT = 1000
MAX_CONTACT_TAGS = 20
_ATTRIBUTE_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,63}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")

AttributeValue = str | int | float | bool


@dataclass(frozen=True)
class ContactChanges:
    """An operator's edit, validated: ``fields`` maps name/email/phone/language to the new value (None clears it),
    ``attributes`` maps keys to new values (None removes the key), ``tags`` replaces the contact's tags."""

    fields: dict[str, str | None]
    attributes: dict[str, AttributeValue | None]
    tags: tuple[str, ...] | None = None


def parse_changes(body: dict[str, Any]) -> ContactChanges:
    unknown = sorted(set(body) - set(EDITABLE))
    if unknown:
        raise BadRequest(f"Unknown field(s): {', '.join(unknown)}; a contact's editable fields are "
                         f"{', '.join(EDITABLE)}.")
    if not body:
        raise BadRequest(f"Nothing to change; give any of {', '.join(EDITABLE)}.")
    parsers = {"name": _name, "email": _email, "phone": _phone, "language": _language}
    fields = {key: parsers[key](body[key]) for key in parsers if key in body}
    attributes = _attributes(body["attributes"]) if "attributes" in body else {}
    tags = _tags(body["tags"]) if "tags" in body else None
    return ContactChanges(fields=fields, attributes=attributes, tags=tags)


def apply_attributes(current: dict[str, Any], changes: dict[str, AttributeValue | None]) -> dict[str, Any]:
    """The attributes after an edit; refused when they would grow past the limit."""
    merged = {**current, **changes}
    result = {key: value for key, value in merged.items() if value is not None}
    if len(result) > MAX_ATTRIBUTES:
        raise BadRequest(f"A contact can have at most {MAX_ATTRIBUTES} attributes; remove some first (set them "
                         "to null).")
    return result


def _text(field: str, value: object, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{field} must be a string, or null to clear it.")
    text = " ".join(value.split())
    if len(text) > limit:
        raise BadRequest(f"{field} is too long ({len(text)} characters; at most {limit}).")
    return text or None


def _name(value: object) -> str | None:
    return _text("name", value, MAX_NAME)


def _email(value: object) -> str | None:
    text = _text("email", value, MAX_EMAIL)
    if text is None:
        return None
    email = normalize_email(text)
    if email is None or not _EMAIL.fullmatch(email):
        raise BadRequest(f"'{text}' is not an e-mail address.")
    return email


def _phone(value: object) -> str | None:
    text = _text("phone", value, 40)
    if text is None:
        return None
    phone = normalize_phone(text) if re.fullmatch(r"[+\d\s().\-/]+", text) else None
    if phone is None or len(phone) - 1 > MAX_PHONE_DIGITS:
        raise BadRequest(f"'{text}' is not a phone number; give 7–{MAX_PHONE_DIGITS} digits, e.g. +44 7700 900123.")
    return phone


def _language(value: object) -> str | None:
    text = _text("language", value, 35)
    if text is not None and not _LANGUAGE.fullmatch(text):
        raise BadRequest(f"'{text}' is not a language tag; use e.g. en, de or pt-BR.")
    return text


def _attributes(value: object) -> dict[str, AttributeValue | None]:
    if not isinstance(value, dict):
        raise BadRequest("attributes must be an object of key → value (null removes a key).")
    if len(value) > MAX_ATTRIBUTES:
        raise BadRequest(f"A contact can have at most {MAX_ATTRIBUTES} attributes.")
    return {_attribute_key(key): _attribute_value(key, item) for key, item in value.items()}


def _attribute_key(key: str) -> str:
    if not _ATTRIBUTE_KEY.fullmatch(key):
        raise BadRequest(f"'{key[:80]}' is not an attribute name: start with a letter, then up to 63 letters, "
                         "digits, '_', '.' or '-'.")
    return key


def _attribute_value(key: str, value: object) -> AttributeValue | None:
    if value is None or isinstance(value, bool | str):
        if isinstance(value, str) and len(value) > MAX_ATTRIBUTE_TEXT:
            raise BadRequest(f"Attribute '{key}' is too long (at most {MAX_ATTRIBUTE_TEXT} characters).")
        return value
    if isinstance(value, int | float) and math.isfinite(value):
        return value
    raise BadRequest(f"Attribute '{key}' must be text, a number, true/false, or null to remove it.")


def _tags(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise BadRequest("tags must be a list of strings (it replaces the contact's tags).")
    tags = tuple(dict.fromkeys(normalize_tag(tag) for tag in value))
    if len(tags) > MAX_CONTACT_TAGS:
        raise BadRequest(f"A contact can carry at most {MAX_CONTACT_TAGS} tags.")
    return tags


# ------------------------------------------------------------------ notes and events

MAX_NOTE = 5000
MAX_EVENT_TYPE = 64
MAX_EVENT_ID = 128
MAX_EVENT_DATA = 4096
MAX_URL = 2048
MAX_TITLE = 300
EVENT_FIELDS = ("id", "type", "at", "url", "title", "data")
FUTURE_SLACK = timedelta(minutes=5)  # clocks of tenants' systems drift; an event from the future is a mistake
_EVENT_TYPE = re.compile(r"[a-z][a-z0-9_.:\-]{0,63}")


def note_text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("The note text must not be empty.")
    if len(value) > MAX_NOTE:
        raise BadRequest(f"The note is too long ({len(value)} characters; at most {MAX_NOTE}).")
    return value.strip()


@dataclass(frozen=True)
class ContactEvent:
    """Something the contact did elsewhere (a page view, an order), posted by the tenant's system for the
    timeline. ``event_id`` is the system's own id: a retry with it is stored once."""

    type: str
    at: str
    event_id: str | None = None
    url: str | None = None
    title: str | None = None
    data: dict = field(default_factory=dict)


def parse_event(body: dict[str, Any], now: datetime) -> ContactEvent:
    unknown = sorted(set(body) - set(EVENT_FIELDS))
    if unknown:
        raise BadRequest(f"Unknown field(s): {', '.join(unknown)}; put your own values in 'data'.")
    kind = body.get("type")
    if not isinstance(kind, str) or not _EVENT_TYPE.fullmatch(kind):
        raise BadRequest(f"type must be a lower-case name like page_view or order.paid (at most {MAX_EVENT_TYPE} "
                         "characters).")
    return ContactEvent(type=kind, at=_event_time(body.get("at"), now), event_id=_event_id(body.get("id")),
                        url=_url(body.get("url")), title=_text("title", body.get("title"), MAX_TITLE),
                        data=_event_data(body.get("data")))


def _event_time(value: object, now: datetime) -> str:
    if value is None:
        return clock.iso(now)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise BadRequest("at must be an ISO-8601 time with a time zone, e.g. 2026-07-20T09:15:00Z.")
    if moment - now > FUTURE_SLACK:
        raise BadRequest("at is in the future; send the time the event happened.")
    return clock.iso(moment)


def _event_id(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_EVENT_ID:
        raise BadRequest(f"id must be a string of 1–{MAX_EVENT_ID} characters (your id for the event).")
    return value


def _url(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_URL or not re.match(r"https?://[^\s]+$", value):
        raise BadRequest(f"url must be an http(s) address of at most {MAX_URL} characters.")
    return value


def _event_data(value: object) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest("data must be a JSON object.")
    if len(json.dumps(value, separators=(",", ":"))) > MAX_EVENT_DATA:
        raise BadRequest(f"data is too large (at most {MAX_EVENT_DATA} bytes of JSON).")
    return value
