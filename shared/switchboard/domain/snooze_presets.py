"""Snooze presets: the wake-up times an operator picks from the snooze menu, read in the tenant's time zone.

"Tomorrow 09:00" and "next Monday 09:00" are wall-clock times: they are computed on local dates and converted to
UTC last, so 09:00 on the day after a clock change is still 09:00 on the tenant's wall. "In 1 hour" is an hour of
real time, which across a clock change reads as 0 or 2 hours on the wall. A custom moment is checked, not moved.
Every result is a timezone-aware UTC datetime. ``SnoozeChoice`` is what a snooze request says: one of a preset, a
number of seconds, a custom moment, or "until the contact replies" (no time at all).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from . import clock
from .business_hours import as_utc, time_zone, to_utc
from .errors import BadRequest

MORNING = time(9, 0)
MONDAY = 0


class Preset(StrEnum):
    IN_ONE_HOUR = "in_1_hour"
    TOMORROW_MORNING = "tomorrow_0900"
    NEXT_MONDAY_MORNING = "next_monday_0900"


def snooze_until(preset: Preset | str, now: datetime, zone: ZoneInfo | str) -> datetime:
    """The wake-up instant of a menu preset, picked at ``now`` by an operator of a tenant in ``zone``."""
    try:
        chosen = Preset(preset)
    except ValueError:
        names = ", ".join(item.value for item in Preset)
        raise BadRequest(f"Unknown snooze preset {preset!r}; use one of {names} or a custom time.") from None
    if chosen is Preset.IN_ONE_HOUR:
        return in_one_hour(now)
    if chosen is Preset.TOMORROW_MORNING:
        return tomorrow_at(now, zone)
    return next_weekday_at(now, zone, MONDAY)


def in_one_hour(now: datetime) -> datetime:
    return as_utc(now) + timedelta(hours=1)


def tomorrow_at(now: datetime, zone: ZoneInfo | str, at: time = MORNING) -> datetime:
    """``at`` on the tenant's next calendar day: at 00:30 local "tomorrow" is the day after today, not in 8½ hours."""
    return _local(_today(now, zone) + timedelta(days=1), at, zone)


def next_weekday_at(now: datetime, zone: ZoneInfo | str, weekday: int = MONDAY, at: time = MORNING) -> datetime:
    """``at`` on the next ``weekday`` (0 = Monday) strictly after today: on a Monday, "next Monday" is a week away,
    whatever the hour, because an operator who snoozes until "next Monday" on a Monday means the coming one."""
    today = _today(now, zone)
    days_ahead = (weekday - today.weekday() - 1) % 7 + 1
    return _local(today + timedelta(days=days_ahead), at, zone)


MAX_AHEAD = timedelta(days=365)  # a Step Functions Standard execution lives at most a year


def custom_moment(moment: datetime, now: datetime) -> datetime:
    """A moment the operator picked: in the future and at most a calendar year ahead (a snooze is a reminder,
    not an archive), as UTC."""
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise BadRequest("A snooze time needs a date, a time and a time zone offset.")
    moment, now = moment.astimezone(UTC), as_utc(now)
    if moment <= now:
        raise BadRequest("A snooze time must be in the future.")
    if moment > min(_a_year_after(now), now + MAX_AHEAD):
        raise BadRequest("A snooze time may be at most a year (365 days) ahead.")
    return moment


_WAYS = ("preset", "until", "seconds", "until_reply")


@dataclass(frozen=True)
class SnoozeChoice:
    """How long to snooze, as the operator said it. Exactly one field is set; ``until_reply`` means no timer at all:
    the contact's next message wakes the conversation."""

    preset: Preset | None = None
    until: datetime | None = None
    seconds: int | None = None
    until_reply: bool = False

    @classmethod
    def parse(cls, body: Mapping[str, object]) -> SnoozeChoice:
        """From a request body; anything ambiguous or malformed is a 400 that says what to send instead."""
        given = [way for way in _WAYS if way in body]
        if len(given) != 1:
            raise BadRequest("Say when with exactly one of: preset (" + ", ".join(p.value for p in Preset)
                             + "), until (an ISO-8601 time with an offset), seconds, or until_reply: true.")
        way, value = given[0], body[given[0]]
        if way == "preset":
            return cls(preset=_preset(value))
        if way == "until":
            return cls(until=_moment(value))
        if way == "seconds":
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise BadRequest("seconds must be a positive whole number.")
            return cls(seconds=value)
        if value is not True:
            raise BadRequest("until_reply must be true (to snooze until the contact writes again).")
        return cls(until_reply=True)

    def wake_at(self, now: datetime, zone: ZoneInfo | str) -> datetime | None:
        """The instant the timer wakes the conversation (validated: future, at most a year), or None for "until the
        contact replies". Presets are read on the tenant's wall clock in ``zone``."""
        if self.until_reply:
            return None
        if self.preset is not None:
            return snooze_until(self.preset, now, zone)
        if self.seconds is not None:
            return custom_moment(as_utc(now) + timedelta(seconds=self.seconds), now)
        return custom_moment(self.until, now)  # type: ignore[arg-type]


def _preset(value: object) -> Preset:
    try:
        return Preset(value)
    except ValueError:
        names = ", ".join(item.value for item in Preset)
        raise BadRequest(f"Unknown snooze preset {value!r}; use one of {names}.") from None


def _moment(value: object) -> datetime:
    return clock.parse_aware(value, "until")


def _today(now: datetime, zone: ZoneInfo | str) -> date:
    return as_utc(now).astimezone(_zone(zone)).date()


def _local(day: date, at: time, zone: ZoneInfo | str) -> datetime:
    """A wall-clock time in ``zone`` as UTC; a time skipped by a clock change becomes the moment of the change."""
    return to_utc(datetime.combine(day, at), _zone(zone))


def _zone(zone: ZoneInfo | str) -> ZoneInfo:
    return zone if isinstance(zone, ZoneInfo) else time_zone(zone)


def _a_year_after(moment: datetime) -> datetime:
    """Same date and time a year on; 29 February becomes 28 February."""
    try:
        return moment.replace(year=moment.year + 1)
    except ValueError:
        return moment.replace(year=moment.year + 1, day=28)
