"""Business hours: when a tenant is open, and how much open time lies between two instants.

SLA targets are measured in business time ("answer within 2 business hours"), so timers need to add business time
to an instant and to measure it between instants, pauses excluded. Pure: no clock, no storage. Every instant in and
out is a timezone-aware UTC datetime.

How local time is read:

* Shifts are local wall-clock times in the tenant's IANA zone, per weekday. A shift whose end is before its start
  runs past midnight into the next day (Fri 22:00–02:00 ends Saturday 02:00); "24:00" ends at midnight.
* Each local day's part of a shift becomes real time by converting its two ends, so a shift is an hour shorter on
  the day the clocks jump forward inside it and an hour longer on the day they jump back.
* A wall time the clocks skip (02:30 on a spring-forward night in Berlin) means the moment of the jump (03:00 CEST):
  the skipped part of a shift is simply not there. A wall time that occurs twice (02:30 on a fall-back night) means
  its first occurrence. Both rules keep wall time → real time non-decreasing, so touching shifts stay touching and
  no shift has a negative length.
* A holiday closes its whole local calendar day: also the after-midnight part of a shift that began the evening
  before; the after-midnight part of a shift that begins on the holiday stays open.

Open time is counted week by week: a local week without holidays and without a change of UTC offset holds exactly
its nominal open time, so a span of months costs one step per week; other weeks are walked shift by shift.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import BadRequest

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES = 24 * 60
MAX_SHIFTS = 100
MAX_HOLIDAYS = 1000
HORIZON_WEEKS = 100 * 52  # add() gives up beyond this: a target a century away is a mistake, not a deadline

DAY = timedelta(days=1)
WEEK = timedelta(weeks=1)
_TICK = timedelta(microseconds=1)
_CLOCK = re.compile(r"^(\d{2}):(\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HOST_ZONES = {"localtime", "posixrules"}  # resolve to whatever the host is set to: never a tenant's zone
_FIELDS = {"time_zone", "always_open", "week", "holidays"}

Pause = tuple[datetime, datetime | None]


class InvalidBusinessHours(BadRequest, ValueError):
    """A business-hours configuration the domain cannot use. Also a ValueError, for callers outside the API."""

    code = "invalid_business_hours"
    title = "Invalid business hours"


def time_zone(name: object) -> ZoneInfo:
    """The tenant's zone from its IANA name, refusing names the machine would resolve to its own local time."""
    if not isinstance(name, str) or not name or name in _HOST_ZONES:
        raise InvalidBusinessHours("time_zone must be an IANA time zone name such as 'Europe/Berlin'.")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidBusinessHours(f"Unknown time zone '{name}': use an IANA name such as 'Europe/Berlin'.") from None


def to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant a local wall-clock reading names in ``zone``.

    A reading that occurs twice (the clocks went back) is its first occurrence; one that does not exist (the clocks
    jumped over it) is the moment of the jump. Both keep later readings at later-or-equal instants.
    """
    naive = wall.replace(tzinfo=None, fold=0)
    first = naive.replace(tzinfo=zone).astimezone(UTC)  # fold=0: the earlier offset
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first
    # In a gap zoneinfo's fold=0 lands after the jump and fold=1 before it: the jump lies between.
    return _moment_of_jump(naive.replace(tzinfo=zone, fold=1).astimezone(UTC), first, zone)


def _moment_of_jump(before: datetime, after: datetime, zone: ZoneInfo) -> datetime:
    """The first instant with ``after``'s offset. zoneinfo lists no transitions, and offsets change on whole
    seconds, so this bisects over seconds: a dozen steps for an hour's gap, and only on the night of a jump."""
    target = after.astimezone(zone).utcoffset()
    low, high = math.floor(before.timestamp()), math.ceil(after.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, UTC).astimezone(zone).utcoffset() == target:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def as_utc(instant: datetime) -> datetime:
    """An aware instant in UTC. A naive datetime is refused: guessing its zone is how deadlines drift by hours."""
    if not isinstance(instant, datetime) or instant.utcoffset() is None:
        raise ValueError(f"Expected a timezone-aware datetime, got {instant!r}.")
    return instant.astimezone(UTC)


def _clock(text: object, where: str, *, is_end: bool) -> int:
    """Minutes after midnight of an ``HH:MM`` reading; ``24:00`` only as an end."""
    match = _CLOCK.match(text) if isinstance(text, str) else None
    minutes = int(match[1]) * 60 + int(match[2]) if match and int(match[2]) < 60 else None
    if minutes is not None and (minutes < DAY_MINUTES or (minutes == DAY_MINUTES and is_end)):
        return minutes
    raise InvalidBusinessHours(f"{where}: {text!r} is not a time of day; use HH:MM from 00:00 to 23:59 "
                               "(24:00 only as an end).")


def _render(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True, order=True)
class Shift:
    """One weekly open interval in local wall time: minutes after the weekday's midnight. An ``end`` beyond
    ``DAY_MINUTES`` runs into the next day, so a shift never needs two entries to cross midnight."""

    weekday: int
    start: int
    end: int

    def __post_init__(self) -> None:
        past_midnight = DAY_MINUTES < self.end < DAY_MINUTES + self.start
        if not (0 <= self.weekday < 7 and 0 <= self.start < DAY_MINUTES
                and (self.start < self.end <= DAY_MINUTES or past_midnight)):
            raise InvalidBusinessHours(f"Not a shift: weekday {self.weekday}, minutes {self.start}–{self.end}.")

    @classmethod
    def parse(cls, weekday: int, raw: object) -> Shift:
        where = DAYS[weekday]
        if not isinstance(raw, Mapping) or set(raw) != {"start", "end"}:
            raise InvalidBusinessHours(f"{where}: each shift must be {{\"start\": \"HH:MM\", \"end\": \"HH:MM\"}}.")
        start = _clock(raw["start"], where, is_end=False)
        end = _clock(raw["end"], where, is_end=True)
        if end == start:
            raise InvalidBusinessHours(f"{where}: the shift starts and ends at {raw['start']}; "
                                       "give it a length (00:00–24:00 for the whole day).")
        return cls(weekday, start, end if end > start else end + DAY_MINUTES)

    def label(self) -> str:
        return f"{DAYS[self.weekday]} {_render(self.start)}–{self._end_clock()}"

    def to_dict(self) -> dict[str, str]:
        return {"start": _render(self.start), "end": self._end_clock()}

    def _end_clock(self) -> str:
        """The end as the wall clock reads it: "02:00" for a shift into the next day, "24:00" at midnight."""
        return _render(self.end % DAY_MINUTES or DAY_MINUTES)

    def in_week(self) -> list[tuple[int, int]]:
        """Minutes after Monday 00:00; a Sunday shift that runs into Monday wraps to the week's start."""
        begin, end = self.weekday * DAY_MINUTES + self.start, self.weekday * DAY_MINUTES + self.end
        week = 7 * DAY_MINUTES
        return [(begin, end)] if end <= week else [(begin, week), (0, end - week)]

    def in_days(self) -> list[tuple[int, int, int]]:
        """(weekday, start, end) per local day the shift touches: the after-midnight part belongs to the next day."""
        if self.end <= DAY_MINUTES:
            return [(self.weekday, self.start, self.end)]
        return [(self.weekday, self.start, DAY_MINUTES), ((self.weekday + 1) % 7, 0, self.end - DAY_MINUTES)]


_ALL_WEEK = tuple(Shift(weekday, 0, DAY_MINUTES) for weekday in range(7))


def _check_overlaps(shifts: Iterable[Shift]) -> None:
    pieces = sorted((begin, end, shift) for shift in shifts for begin, end in shift.in_week())
    for (_, end, earlier), (begin, _, later) in zip(pieces, pieces[1:], strict=False):
        if begin < end:
            raise InvalidBusinessHours(f"The shifts {earlier.label()} and {later.label()} overlap.")


def _daily_coverage(shifts: Iterable[Shift]) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Per weekday, the open minutes of that local day, sorted and with touching pieces joined."""
    days: list[list[tuple[int, int]]] = [[] for _ in DAYS]
    for shift in shifts:
        for weekday, start, end in shift.in_days():
            days[weekday].append((start, end))
    return tuple(_joined(sorted(pieces)) for pieces in days)


def _joined(pieces: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    joined: list[tuple[int, int]] = []
    for start, end in pieces:
        if joined and joined[-1][1] == start:
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return tuple(joined)


def _parse_week(raw: object) -> list[Shift]:
    if not isinstance(raw, Mapping):
        raise InvalidBusinessHours(f"week must map weekdays ({', '.join(DAYS)}) to lists of shifts.")
    unknown = sorted(str(key) for key in raw if key not in DAYS)
    if unknown:
        raise InvalidBusinessHours(f"Unknown weekday {unknown[0]!r}; use {', '.join(DAYS)}.")
    shifts: list[Shift] = []
    for weekday, name in enumerate(DAYS):
        entries = raw.get(name, [])
        if not isinstance(entries, list):
            raise InvalidBusinessHours(f"{name}: expected a list of shifts.")
        shifts.extend(Shift.parse(weekday, entry) for entry in entries)
    if len(shifts) > MAX_SHIFTS:
        raise InvalidBusinessHours(f"At most {MAX_SHIFTS} shifts a week.")
    return shifts


def _parse_holidays(raw: object) -> frozenset[date]:
    if not isinstance(raw, list) or len(raw) > MAX_HOLIDAYS:
        raise InvalidBusinessHours(f"holidays must be a list of at most {MAX_HOLIDAYS} dates (YYYY-MM-DD).")
    return frozenset(_holiday(text) for text in raw)


def _holiday(text: object) -> date:
    if isinstance(text, str) and _DATE.match(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass  # 2026-02-30: the shape is right, the date is not
    raise InvalidBusinessHours(f"Holiday {text!r} is not a date; use YYYY-MM-DD.")


@dataclass(frozen=True)
class BusinessHours:
    """A tenant's weekly shifts and holidays in its time zone. Construction validates: shifts may touch but not
    overlap, and some time each week must be open (otherwise no SLA target could ever be reached)."""

    zone: ZoneInfo
    shifts: tuple[Shift, ...]
    holidays: frozenset[date] = frozenset()
    _daily: tuple[tuple[tuple[int, int], ...], ...] = field(init=False, repr=False, compare=False)
    _sorted_holidays: tuple[date, ...] = field(init=False, repr=False, compare=False)
    _week_nominal: timedelta = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        shifts = tuple(sorted(self.shifts))
        if not shifts:
            raise InvalidBusinessHours("Business hours need at least one shift: with no open time at all no target "
                                       "could ever be reached (use always_open for 24/7).")
        _check_overlaps(shifts)
        daily = _daily_coverage(shifts)
        object.__setattr__(self, "shifts", shifts)
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "_daily", daily)
        object.__setattr__(self, "_sorted_holidays", tuple(sorted(self.holidays)))
        minutes = sum(end - start for pieces in daily for start, end in pieces)
        object.__setattr__(self, "_week_nominal", timedelta(minutes=minutes))

    # --- construction ------------------------------------------------------------------------------------------

    @classmethod
    def always_open(cls, zone: ZoneInfo | str = "UTC") -> BusinessHours:
        """24/7 without holidays: business time is wall time (the default for a tenant without business hours)."""
        return cls(zone if isinstance(zone, ZoneInfo) else time_zone(zone), _ALL_WEEK)

    @classmethod
    def from_dict(cls, data: object) -> BusinessHours:
        """From the JSON the settings API stores::

            {"time_zone": "Europe/Berlin",
             "week": {"mon": [{"start": "09:00", "end": "13:00"}, {"start": "14:00", "end": "18:00"}],
                      "fri": [{"start": "22:00", "end": "02:00"}]},
             "holidays": ["2026-12-25"]}

        or ``{"time_zone": "Europe/Berlin", "always_open": true}``.
        """
        if not isinstance(data, Mapping):
            raise InvalidBusinessHours("Business hours must be an object.")
        unknown = sorted(str(key) for key in data if key not in _FIELDS)
        if unknown:
            raise InvalidBusinessHours(f"Unknown field {unknown[0]!r} in business hours.")
        zone = time_zone(data.get("time_zone"))
        always = data.get("always_open", False)
        if not isinstance(always, bool):
            raise InvalidBusinessHours("always_open must be true or false.")
        if always:
            if "week" in data or data.get("holidays"):
                raise InvalidBusinessHours("always_open takes no week or holidays; to close on holidays, list "
                                           "every day as 00:00–24:00 instead.")
            return cls.always_open(zone)
        return cls(zone, tuple(_parse_week(data.get("week"))), _parse_holidays(data.get("holidays", [])))

    def to_dict(self) -> dict[str, Any]:
        if self.shifts == _ALL_WEEK and not self.holidays:
            return {"time_zone": self.zone.key, "always_open": True}
        week: dict[str, list[dict[str, str]]] = {name: [] for name in DAYS}
        for shift in self.shifts:
            week[DAYS[shift.weekday]].append(shift.to_dict())
        return {"time_zone": self.zone.key, "week": week,
                "holidays": [day.isoformat() for day in self._sorted_holidays]}

    @property
    def is_always_open(self) -> bool:
        """Every minute of every day is open: the answers are plain wall-clock arithmetic."""
        return not self.holidays and all(pieces == ((0, DAY_MINUTES),) for pieces in self._daily)

    # --- questions ---------------------------------------------------------------------------------------------

    def is_open(self, instant: datetime) -> bool:
        instant = as_utc(instant)
        if self.is_always_open:
            return True
        today = self._local_date(instant)
        return any(begin <= instant < end
                   for day in (today - DAY, today, today + DAY) for begin, end in self._periods(day))

    def next_opening(self, instant: datetime) -> datetime:
        """The first open moment at or after ``instant`` (the instant itself when open)."""
        instant = as_utc(instant)
        if self.is_always_open:
            return instant
        day = self._local_date(instant) - DAY
        # Every week has a shift, so a week without open time needs a holiday (or, rarely, a clock jump that
        # swallows its only shift): this bounds the search even for a tenant closed on every Monday it opens.
        searched = 7 * (len(self.holidays) + 3)
        for _ in range(searched):
            for begin, end in self._periods(day):
                if instant < end:
                    return max(begin, instant)
            day += DAY
        # Unreachable with a shift each week; here so that a broken invariant fails loudly instead of looping.
        raise InvalidBusinessHours(f"No open time within {searched} days after {instant.isoformat()}.")

    def add(self, instant: datetime, duration: timedelta) -> datetime:
        """The earliest instant by which ``duration`` of business time has passed since ``instant``: 2 hours from
        Friday 17:00 with 09:00–18:00 hours is Monday 10:00. The result is an open moment or the end of a shift
        (a target that ends exactly with a shift falls due at its end, not at the next opening). Zero is
        ``instant`` itself."""
        instant = as_utc(instant)
        if duration < timedelta():
            raise ValueError(f"Cannot add a negative business time ({duration}).")
        if not duration:
            return instant
        if self.is_always_open:
            return instant + duration
        monday = self._monday(instant)
        return self._instant_at(monday, self._open_since(monday, instant) + duration)

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time between two instants (``end`` not before ``start``)."""
        start, end = _ordered(start, end)
        if self.is_always_open:
            return end - start
        monday = self._monday(start)
        return self._open_since(monday, end) - self._open_since(monday, start)

    def elapsed_excluding(self, start: datetime, end: datetime, pauses: Iterable[Pause]) -> timedelta:
        """Business time between two instants outside the pauses (``pending``/``snoozed`` stops an SLA clock).
        Pauses may overlap each other or stick out of the span; a pause still running has ``None`` as its end."""
        start, end = _ordered(start, end)
        total, cursor = timedelta(), start
        for pause_start, pause_end in _merged(pauses, start, end):
            total += self.elapsed(cursor, pause_start)
            cursor = pause_end
        return total + self.elapsed(cursor, end)

    # --- the walk ----------------------------------------------------------------------------------------------

    def _local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()

    def _monday(self, instant: datetime) -> date:
        """The local Monday that starts ``instant``'s week: every count starts from a week boundary."""
        today = self._local_date(instant)
        return today - today.weekday() * DAY

    def _midnight(self, day: date) -> datetime:
        return to_utc(datetime.combine(day, time()), self.zone)

    def _periods(self, day: date) -> list[tuple[datetime, datetime]]:
        """The open periods of one local day as UTC instants, in order; none on a holiday."""
        if day in self.holidays:
            return []
        midnight = datetime.combine(day, time())
        periods = []
        for start, end in self._daily[day.weekday()]:
            begin = to_utc(midnight + timedelta(minutes=start), self.zone)
            finish = to_utc(midnight + timedelta(minutes=end), self.zone)
            if begin < finish:  # a shift wholly inside a forward jump never happens
                periods.append((begin, finish))
        return periods

    def _day_open(self, day: date) -> timedelta:
        return sum((end - begin for begin, end in self._periods(day)), timedelta())

    def _is_plain_week(self, monday: date) -> bool:
        """No holiday and one UTC offset throughout, so the week holds exactly its nominal open time.

        The offset is sampled every 24 hours (and just before the start, for a jump at midnight): tz rules never
        change an offset and change it back within a day.
        """
        first = bisect.bisect_left(self._sorted_holidays, monday)
        if first < len(self._sorted_holidays) and self._sorted_holidays[first] < monday + WEEK:
            return False
        start = self._midnight(monday)
        samples = [start - _TICK] + [start + k * DAY for k in range(8)]
        return len({sample.astimezone(self.zone).utcoffset() for sample in samples}) == 1

    def _week_open(self, monday: date) -> timedelta:
        if self._is_plain_week(monday):
            return self._week_nominal
        return sum((self._day_open(monday + k * DAY) for k in range(7)), timedelta())

    def _open_since(self, monday: date, instant: datetime) -> timedelta:
        """Open time from the local midnight starting ``monday`` up to ``instant``: whole weeks, then whole days,
        then the periods of the last day."""
        total, week = timedelta(), monday
        while self._midnight(week + WEEK) <= instant:
            total += self._week_open(week)
            week += WEEK
        day = week
        while self._midnight(day + DAY) <= instant:
            total += self._day_open(day)
            day += DAY
        return total + sum((min(end, instant) - begin for begin, end in self._periods(day) if begin < instant),
                           timedelta())

    def _instant_at(self, monday: date, amount: timedelta) -> datetime:
        """The earliest instant with ``amount`` (> 0) of open time since the midnight starting ``monday``."""
        remaining, week = amount, monday
        for _ in range(HORIZON_WEEKS):
            week_open = self._week_open(week)
            if week_open >= remaining:
                return self._instant_within(week, remaining)
            remaining -= week_open
            week += WEEK
        raise InvalidBusinessHours(f"The target lies more than {HORIZON_WEEKS // 52} years ahead.")

    def _instant_within(self, monday: date, remaining: timedelta) -> datetime:
        for offset in range(7):
            for begin, end in self._periods(monday + offset * DAY):
                if end - begin >= remaining:
                    return begin + remaining
                remaining -= end - begin
        raise AssertionError("the week holds less open time than it reported")


def _ordered(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    start, end = as_utc(start), as_utc(end)
    if end < start:
        raise ValueError(f"The span ends ({end.isoformat()}) before it starts ({start.isoformat()}).")
    return start, end


def _merged(pauses: Iterable[Pause], start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Pauses clipped to [start, end], sorted and joined, so no paused moment is subtracted twice."""
    clipped = []
    for pause_start, pause_end in pauses:
        if pause_end is None:
            begin, finish = as_utc(pause_start), end
        else:
            begin, finish = _ordered(pause_start, pause_end)
        begin, finish = max(begin, start), min(finish, end)
        if begin < finish:
            clipped.append((begin, finish))
    merged: list[tuple[datetime, datetime]] = []
    for begin, finish in sorted(clipped):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], finish))
        else:
            merged.append((begin, finish))
    return merged
