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


def parse_aware(value: object, what: str) -> datetime:
    """An ISO-8601 time a person sent, which must name its offset (without one, whose 09:00 would it be?)."""
    from .errors import BadRequest

    if not isinstance(value, str):
        raise BadRequest(f"{what} must be an ISO-8601 time with a time zone offset, e.g. 2026-07-20T09:00:00+02:00.")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{what} {value!r} is not an ISO-8601 time.") from None
    if moment.utcoffset() is None:
        raise BadRequest(f"{what} needs a time zone offset (Z or +02:00): without one, whose 09:00 is it?")
    return moment
