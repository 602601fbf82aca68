"""Auto-replies of an inbox: a greeting on a new conversation, and an out-of-hours message that says when the question
will be taken up. Pure: what an admin may configure, which reply a new conversation gets, and its text.

A new conversation gets at most one of them: out of business hours the out-of-hours message (a greeting promising an
answer "within two hours" would be untrue at night), otherwise the greeting. Texts are kept per language with a
``default``; the contact's language picks one, and the next opening is written in that language on the tenant's
wall clock. Variables are checked when the admin saves them, so a customer never sees a stray ``{{...}}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from .business_hours import BusinessHours
from .errors import BadRequest

GREETING, OUT_OF_HOURS = "greeting", "out_of_hours"
KINDS = (GREETING, OUT_OF_HOURS)
DEFAULT = "default"
MAX_TEXT = 1000
MAX_LANGUAGES = 30

_VARIABLE = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")
_OPENING_VARIABLES = frozenset({"next_opening", "next_opening_day", "next_opening_time", "next_opening_date",
                                "time_zone"})
VARIABLES: dict[str, frozenset[str]] = {GREETING: frozenset(), OUT_OF_HOURS: _OPENING_VARIABLES}

# The words {{next_opening}} needs, per language: "today", "tomorrow", and the weekdays from Monday. A language not
# listed gets English words (its text is still the one the tenant wrote for it).
_WORDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "en": ("today", "tomorrow", ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")),
    "de": ("heute", "morgen", ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")),
    "fr": ("aujourd'hui", "demain", ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")),
    "es": ("hoy", "mañana", ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")),
    "it": ("oggi", "domani", ("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica")),
    "pt": ("hoje", "amanhã", ("segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira",
                               "sábado", "domingo")),
    "nl": ("vandaag", "morgen", ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")),
    "pl": ("dziś", "jutro", ("poniedziałek", "wtorek", "środa", "czwartek", "piątek", "sobota", "niedziela")),
    "ru": ("сегодня", "завтра", ("понедельник", "вторник", "среда", "четверг", "пятница", "суббота",
                                 "воскресенье")),
    "uk": ("сьогодні", "завтра", ("понеділок", "вівторок", "середа", "четвер", "п'ятниця", "субота", "неділя")),
}


@dataclass(frozen=True)
class Template:
    """One auto-reply: on or off, and its text per language (``default`` for everyone else)."""

    kind: str
    enabled: bool = False
    texts: Mapping[str, str] = field(default_factory=dict)

    def text_for(self, language: str | None) -> tuple[str, str]:
        """(language, text): the contact's language if the tenant wrote a text for it ("pt-br", then "pt"), else the
        default."""
        for candidate in _candidates(language):
            if candidate in self.texts:
                return candidate, self.texts[candidate]
        return DEFAULT, self.texts[DEFAULT]

    def to_dict(self) -> dict:
        return {"enabled": self.enabled, "texts": dict(self.texts)}


@dataclass(frozen=True)
class AutoReplies:
    """An inbox's auto-reply settings, as stored in its settings under ``auto_replies``."""

    greeting: Template = field(default_factory=lambda: Template(GREETING))
    out_of_hours: Template = field(default_factory=lambda: Template(OUT_OF_HOURS))
    default_language: str = "en"  # the language of the default texts: how {{next_opening}} is worded in them

    @classmethod
    def parse(cls, raw: object, current: AutoReplies | None = None) -> AutoReplies:
        """An admin's change: the replies given replace the current ones, the others stay. A 400 says what is wrong."""
        current = current or cls()
        if not isinstance(raw, Mapping) or not raw or set(raw) - {*KINDS, "default_language"}:
            raise BadRequest("auto_replies takes greeting, out_of_hours (each {enabled, texts: {language: text}}) "
                             "and default_language.")
        language = raw.get("default_language", current.default_language)
        if not isinstance(language, str) or not _LANGUAGE.match(language.lower()):
            raise BadRequest("default_language must be a language code such as 'en' or 'pt-br'.")
        replies = {kind: _template(kind, raw[kind]) if kind in raw else getattr(current, kind) for kind in KINDS}
        return cls(default_language=language.lower(), **replies)

    @classmethod
    def from_stored(cls, data: Mapping | None) -> AutoReplies:
        """As saved (validated then); missing means no auto-replies."""
        if not data:
            return cls()
        replies = {kind: Template(kind, bool(data[kind].get("enabled")), dict(data[kind].get("texts") or {}))
                   for kind in KINDS if isinstance(data.get(kind), Mapping)}
        return cls(default_language=data.get("default_language") or "en", **replies)

    def to_dict(self) -> dict:
        return {GREETING: self.greeting.to_dict(), OUT_OF_HOURS: self.out_of_hours.to_dict(),
                "default_language": self.default_language}

    @property
    def any_enabled(self) -> bool:
        return self.greeting.enabled or self.out_of_hours.enabled


@dataclass(frozen=True)
class AutoReply:
    kind: str
    language: str  # the text's language ("default" is worded in the settings' default_language)
    text: str


def reply_for(settings: AutoReplies, hours: BusinessHours, now: datetime, zone: ZoneInfo,
              contact_language: str | None) -> AutoReply | None:
    """The auto-reply a conversation opened at ``now`` gets, if any: out of hours the out-of-hours message (when
    set), otherwise the greeting (when set)."""
    if settings.out_of_hours.enabled and not hours.is_open(now):
        language, text = settings.out_of_hours.text_for(contact_language)
        wording = settings.default_language if language == DEFAULT else language
        values = opening_values(hours.next_opening(now), now, zone, wording)
        return AutoReply(OUT_OF_HOURS, language, render(text, values))
    if settings.greeting.enabled:
        language, text = settings.greeting.text_for(contact_language)
        return AutoReply(GREETING, language, render(text, {}))
    return None


def opening_values(opening: datetime, now: datetime, zone: ZoneInfo, language: str) -> dict[str, str]:
    """The {{next_opening…}} variables: "tomorrow 09:00", "Montag 09:00", or with the date when more than a week
    away ("Monday 2026-08-03 09:00"), on the tenant's wall clock."""
    today, tomorrow_word, weekdays = _words(language)
    local, local_now = opening.astimezone(zone), now.astimezone(zone)
    days_ahead = (local.date() - local_now.date()).days
    if days_ahead == 0:
        day = today
    elif days_ahead == 1:
        day = tomorrow_word
    elif days_ahead < 7:
        day = weekdays[local.weekday()]
    else:
        day = f"{weekdays[local.weekday()]} {local.date().isoformat()}"
    clock = local.strftime("%H:%M")
    return {"next_opening": f"{day} {clock}", "next_opening_day": day, "next_opening_time": clock,
            "next_opening_date": local.date().isoformat(), "time_zone": zone.key}


def render(text: str, values: Mapping[str, str]) -> str:
    """Fill the variables (checked when saved, so each has a value)."""
    return _VARIABLE.sub(lambda match: values.get(match.group(1), ""), text)


def _template(kind: str, raw: object) -> Template:
    if not isinstance(raw, Mapping) or set(raw) - {"enabled", "texts"}:
        raise BadRequest(f"{kind} must be an object: enabled (true or false) and texts "
                         "({\"default\": \"…\", \"de\": \"…\"}).")
    enabled, texts = raw.get("enabled", True), raw.get("texts", {})
    if not isinstance(enabled, bool):
        raise BadRequest(f"{kind}.enabled must be true or false.")
    if not isinstance(texts, Mapping) or len(texts) > MAX_LANGUAGES:
        raise BadRequest(f"{kind}.texts must map up to {MAX_LANGUAGES} languages ('default', 'de', …) to texts.")
    cleaned = {_language_key(kind, key): _text(kind, key, value) for key, value in texts.items()}
    if enabled and DEFAULT not in cleaned:
        raise BadRequest(f"{kind} needs a 'default' text for contacts in other languages.")
    return Template(kind, enabled, cleaned)


def _language_key(kind: str, key: object) -> str:
    if isinstance(key, str) and (key == DEFAULT or _LANGUAGE.match(key.lower().replace("_", "-"))):
        return key.lower().replace("_", "-")
    raise BadRequest(f"{kind}.texts: {key!r} is not a language code ('default', 'en', 'pt-br', …).")


def _text(kind: str, language: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise BadRequest(f"{kind}.texts.{language} must be a text of 1–{MAX_TEXT} characters.")
    unknown = sorted(set(_VARIABLE.findall(value)) - VARIABLES[kind])
    if unknown or value.count("{{") != len(_VARIABLE.findall(value)):
        allowed = ", ".join("{{" + name + "}}" for name in sorted(VARIABLES[kind])) or "none"
        wrong = "{{" + unknown[0] + "}}" if unknown else "a malformed {{…}}"
        raise BadRequest(f"{kind}.texts.{language} uses {wrong}; the variables it may use: {allowed}.")
    return value.strip()


def _candidates(language: str | None) -> list[str]:
    """"pt_BR" → ["pt-br", "pt"]."""
    if not language:
        return []
    tag = language.strip().lower().replace("_", "-")
    return list(dict.fromkeys([tag, tag.split("-", 1)[0]]))


def _words(language: str) -> tuple[str, str, tuple[str, ...]]:
    for candidate in _candidates(language):
        if candidate in _WORDS:
            return _WORDS[candidate]
    return _WORDS["en"]

