"""Time as the domain sees it: UTC instants rendered as sortable ISO-8601 strings with milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """``2026-07-20T09:15:02.000Z``: fixed width, so strings sort as the instants do."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def from_unix(seconds: int | float | str) -> datetime:
    return datetime.fromtimestamp(float(seconds), tz=UTC)
