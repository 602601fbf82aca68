"""Saved replies: canned answers with a /shortcut, the first nine on Ctrl+1…9, and variables filled per reply."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import BadRequest

SHORTCUT = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
VARIABLE = re.compile(r"\{\{\s*([a-z_]+)\.([a-z_]+)\s*\}\}")
HOTKEYS = 9
MAX_TEXT = 5000


@dataclass(frozen=True)
class SavedReply:
    id: str
    tenant_id: str
    shortcut: str
    text: str
    title: str = ""
    owner_id: str | None = None  # None: shared by the whole workspace
    position: int = 1000  # lower first; the first nine get hotkeys


def clean_shortcut(value: object) -> str:
    shortcut = value.strip().lstrip("/").lower() if isinstance(value, str) else ""
    if not SHORTCUT.fullmatch(shortcut):
        raise BadRequest("A shortcut is 1–40 lowercase letters, digits, '-' or '_', e.g. /delivery.")
    return shortcut


def clean_text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("A saved reply needs its text.")
    if len(value) > MAX_TEXT:
        raise BadRequest(f"A saved reply is at most {MAX_TEXT} characters.")
    return value


def ordered(replies: list[SavedReply]) -> list[tuple[SavedReply, int | None]]:
    """Replies in their order (position, then shortcut), each with its Ctrl+N hotkey if among the first nine."""
    ranked = sorted(replies, key=lambda reply: (reply.position, reply.shortcut, reply.owner_id or ""))
    return [(reply, index + 1 if index < HOTKEYS else None) for index, reply in enumerate(ranked)]


def render(text: str, values: dict[str, dict[str, str | None]]) -> str:
    """Fill ``{{contact.first_name}}``-style variables; an unknown one stays visible so the operator notices."""

    def fill(match: re.Match[str]) -> str:
        value = values.get(match.group(1), {}).get(match.group(2))
        return value if value else match.group(0)

    return VARIABLE.sub(fill, text)


def person_values(name: str | None) -> dict[str, str | None]:
    first, _, last = (name or "").partition(" ")
    return {"name": name, "first_name": first or None, "last_name": last or None}
