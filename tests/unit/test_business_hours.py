"""Business time (domain/business_hours.py): examples a support lead would check by hand, then properties over
random shifts, holidays and DST zones, checked against a brute-force reading of the wall clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from switchboard.domain.business_hours import (
    DAY_MINUTES,
    DAYS,
    BusinessHours,
    InvalidBusinessHours,
    Shift,
    to_utc,
)
from switchboard.domain.errors import BadRequest

H = timedelta(hours=1)
TICK = timedelta(microseconds=1)
OFFICE = {day: ["09:00-18:00"] for day in DAYS[:5]}  # Mon–Fri 09:00–18:00, for hours(**OFFICE)
OFFICE_WEEK = {day: [{"start": "09:00", "end": "18:00"}] for day in DAYS[:5]}  # the same as stored


def hours(zone: str = "Europe/Berlin", holidays: tuple[str, ...] = (), **week: list[str]) -> BusinessHours:
    """Given business hours written the short way: mon=["09:00-13:00", "14:00-18:00"]."""
    return BusinessHours.from_dict({
        "time_zone": zone,
        "week": {day: [dict(zip(("start", "end"), text.split("-"), strict=True)) for text in shifts]
                 for day, shifts in week.items()},
        "holidays": list(holidays),
    })


def at(zone: str, *wall: int, fold: int = 0) -> datetime:
    """The UTC instant of a wall-clock reading in ``zone`` (fold=1: the second of a repeated hour)."""
    return datetime(*wall, tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC)


def berlin(*wall: int) -> datetime:
    return at("Europe/Berlin", *wall)


# --- configuration ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"time_zone": "Mars/Olympus", "week": OFFICE_WEEK}, "Unknown time zone 'Mars/Olympus'"),
        ({"time_zone": "localtime", "always_open": True}, "IANA time zone name"),
        ({"week": {"mon": []}}, "IANA time zone name"),
        ({"time_zone": "UTC", "week": {"mon": [{"start": "09:00", "end": "13:00"},
                                               {"start": "12:00", "end": "18:00"}]}},
         "mon 09:00–13:00 and mon 12:00–18:00 overlap"),
        ({"time_zone": "UTC", "week": {"fri": [{"start": "22:00", "end": "02:00"}],
                                       "sat": [{"start": "01:00", "end": "05:00"}]}},
         "fri 22:00–02:00 and sat 01:00–05:00 overlap"),
        ({"time_zone": "UTC", "week": {"sun": [{"start": "22:00", "end": "03:00"}],
                                       "mon": [{"start": "02:00", "end": "04:00"}]}},
         "overlap"),
        ({"time_zone": "UTC", "week": {"mon": [{"start": "09:00", "end": "09:00"}]}}, "starts and ends at 09:00"),
        ({"time_zone": "UTC", "week": {"mon": [{"start": "25:00", "end": "26:00"}]}}, "'25:00' is not a time of day"),
        ({"time_zone": "UTC", "week": {"mon": [{"start": "9:00", "end": "17:00"}]}}, "'9:00' is not a time of day"),
        ({"time_zone": "UTC", "week": {"mon": [{"start": "09:60", "end": "17:00"}]}}, "not a time of day"),
        ({"time_zone": "UTC", "week": {"mon": [{"start": "24:00", "end": "02:00"}]}}, "24:00 only as an end"),
        ({"time_zone": "UTC", "week": {"mon": [{"start": 900, "end": 1700}]}}, "not a time of day"),
        ({"time_zone": "UTC", "week": {"mon": [["09:00", "17:00"]]}}, "each shift must be"),
        ({"time_zone": "UTC", "week": {"monday": [{"start": "09:00", "end": "17:00"}]}}, "Unknown weekday 'monday'"),
        ({"time_zone": "UTC", "week": {}}, "at least one shift"),
        ({"time_zone": "UTC", "week": {day: [] for day in DAYS}}, "no open time at all"),
        ({"time_zone": "UTC", "week": OFFICE_WEEK, "holidays": ["2026-02-30"]}, "'2026-02-30' is not a date"),
        ({"time_zone": "UTC", "week": OFFICE_WEEK, "holidays": ["25.12.2026"]}, "'25.12.2026' is not a date"),
        ({"time_zone": "UTC", "always_open": True, "holidays": ["2026-12-25"]}, "always_open takes no week"),
        ({"time_zone": "UTC", "always_open": "yes"}, "always_open must be true or false"),
        ({"time_zone": "UTC", "week": OFFICE_WEEK, "timezone": "UTC"}, "Unknown field 'timezone'"),
        (["09:00-18:00"], "must be an object"),
    ],
)
def test_bad_configurations_are_refused_with_a_reason(data, message):
    with pytest.raises(InvalidBusinessHours) as refused:
        BusinessHours.from_dict(data)
    assert message in refused.value.detail
    assert isinstance(refused.value, BadRequest) and isinstance(refused.value, ValueError)
    assert refused.value.status == 400


def test_a_configuration_survives_the_round_trip_through_json():
    data = {
        "time_zone": "America/New_York",
        "week": {"mon": [{"start": "09:00", "end": "13:00"}, {"start": "14:00", "end": "18:00"}],
                 "tue": [], "wed": [], "thu": [],
                 "fri": [{"start": "22:00", "end": "02:00"}], "sat": [{"start": "08:00", "end": "24:00"}],
                 "sun": [{"start": "00:00", "end": "24:00"}]},
        "holidays": ["2026-07-03", "2026-12-25"],
    }
    assert BusinessHours.from_dict(data).to_dict() == data
    assert BusinessHours.from_dict({"time_zone": "Asia/Tokyo", "always_open": True}).to_dict() == {
        "time_zone": "Asia/Tokyo", "always_open": True}


def test_touching_shifts_are_one_stretch_of_open_time():
    split = hours(mon=["09:00-13:00", "13:00-18:00"])
    assert split.is_open(berlin(2026, 1, 12, 13, 0))
    assert split.elapsed(berlin(2026, 1, 12, 9), berlin(2026, 1, 12, 18)) == 9 * H


# --- is it open? ----------------------------------------------------------------------------------------------------


def test_a_split_shift_is_closed_over_lunch():
    split = hours(mon=["09:00-13:00", "14:00-18:00"])
    assert not split.is_open(berlin(2026, 1, 12, 8, 59))
    assert split.is_open(berlin(2026, 1, 12, 9, 0))
    assert split.is_open(berlin(2026, 1, 12, 12, 59))
    assert not split.is_open(berlin(2026, 1, 12, 13, 0))
    assert not split.is_open(berlin(2026, 1, 12, 13, 30))
    assert split.is_open(berlin(2026, 1, 12, 14, 0))
    assert not split.is_open(berlin(2026, 1, 12, 18, 0))


def test_a_friday_night_shift_runs_into_saturday():
    night = hours(fri=["22:00-02:00"])
    assert night.is_open(berlin(2026, 1, 9, 23, 0))
    assert night.is_open(berlin(2026, 1, 10, 1, 59))
    assert not night.is_open(berlin(2026, 1, 10, 2, 0))
    assert not night.is_open(berlin(2026, 1, 9, 1, 0))  # Friday's small hours belong to Thursday's shift: none


def test_a_sunday_night_shift_runs_into_the_next_week():
    night = hours(sun=["20:00-06:00"])
    assert night.is_open(berlin(2026, 1, 12, 5, 0))
    assert night.elapsed(berlin(2026, 1, 11, 0), berlin(2026, 1, 13, 0)) == 10 * H


def test_a_holiday_closes_its_whole_local_day():
    office = hours(holidays=("2026-12-24",), **OFFICE)
    assert not office.is_open(berlin(2026, 12, 24, 10, 0))
    assert office.is_open(berlin(2026, 12, 23, 10, 0))


def test_a_holiday_closes_the_after_midnight_part_of_the_shift_before_it():
    night = hours(holidays=("2026-01-10",), fri=["22:00-02:00"])  # Saturday is the holiday
    assert night.is_open(berlin(2026, 1, 9, 23, 0))
    assert not night.is_open(berlin(2026, 1, 10, 1, 0))
    eve = hours(holidays=("2026-01-09",), fri=["22:00-02:00"])  # Friday is the holiday
    assert not eve.is_open(berlin(2026, 1, 9, 23, 0))
    assert eve.is_open(berlin(2026, 1, 10, 1, 0))


def test_a_whole_day_shift_is_open_around_the_clock():
    weekend = hours(sat=["00:00-24:00"], sun=["00:00-24:00"])
    assert weekend.elapsed(berlin(2026, 1, 10, 0), berlin(2026, 1, 12, 0)) == 48 * H
    assert weekend.is_open(berlin(2026, 1, 10, 23, 59))
    assert not weekend.is_open(berlin(2026, 1, 12, 0, 0))


def test_always_open_is_wall_clock_time():
    always = BusinessHours.always_open("Europe/Berlin")
    start = berlin(2026, 3, 28, 12)
    assert always.is_open(start)
    assert always.next_opening(start) == start
    assert always.add(start, 36 * H) == start + 36 * H
    assert always.elapsed(start, start + 36 * H) == 36 * H


# --- next opening ---------------------------------------------------------------------------------------------------


def test_next_opening_is_the_instant_itself_when_open():
    office = hours(**OFFICE)
    assert office.next_opening(berlin(2026, 1, 12, 10, 15)) == berlin(2026, 1, 12, 10, 15)


def test_next_opening_after_the_weekend_and_after_lunch():
    office = hours(mon=["09:00-13:00", "14:00-18:00"], fri=["09:00-18:00"])
    assert office.next_opening(berlin(2026, 1, 9, 18, 0)) == berlin(2026, 1, 12, 9, 0)
    assert office.next_opening(berlin(2026, 1, 12, 13, 5)) == berlin(2026, 1, 12, 14, 0)


def test_next_opening_skips_a_christmas_shutdown():
    shutdown = tuple((date(2026, 12, 24) + timedelta(days=n)).isoformat() for n in range(12))
    office = hours(holidays=shutdown, **OFFICE)
    assert office.next_opening(berlin(2026, 12, 23, 18, 0)) == berlin(2027, 1, 5, 9, 0)


def test_next_opening_finds_the_one_monday_that_is_not_a_holiday():
    mondays = tuple((date(2026, 1, 12) + timedelta(weeks=n)).isoformat() for n in range(40))
    mondays_only = hours(holidays=mondays, mon=["09:00-10:00"])
    assert mondays_only.next_opening(berlin(2026, 1, 10, 0, 0)) == at("Europe/Berlin", 2026, 10, 19, 9)


# --- adding business time -------------------------------------------------------------------------------------------


def test_two_hours_from_friday_afternoon_is_monday_morning():
    office = hours(**OFFICE)
    assert office.add(berlin(2026, 1, 9, 17, 0), 2 * H) == berlin(2026, 1, 12, 10, 0)


def test_a_holiday_monday_pushes_the_target_to_tuesday():
    office = hours(holidays=("2026-01-12",), **OFFICE)
    assert office.add(berlin(2026, 1, 9, 17, 0), 2 * H) == berlin(2026, 1, 13, 10, 0)


def test_a_target_that_ends_with_the_shift_falls_due_at_closing_time():
    office = hours(**OFFICE)
    assert office.add(berlin(2026, 1, 12, 9, 0), 9 * H) == berlin(2026, 1, 12, 18, 0)


def test_a_target_set_while_closed_starts_counting_at_the_next_opening():
    office = hours(**OFFICE)
    assert office.add(berlin(2026, 1, 10, 11, 0), 1 * H) == berlin(2026, 1, 12, 10, 0)


def test_a_target_skips_the_lunch_break():
    split = hours(mon=["09:00-13:00", "14:00-18:00"])
    assert split.add(berlin(2026, 1, 12, 12, 0), 2 * H) == berlin(2026, 1, 12, 15, 0)


def test_a_target_runs_through_a_night_shift_into_saturday():
    nights = hours(**{day: ["22:00-06:00"] for day in DAYS[:5]})
    assert nights.add(berlin(2026, 1, 9, 23, 0), 5 * H) == berlin(2026, 1, 10, 4, 0)
    assert nights.add(berlin(2026, 1, 10, 5, 0), 2 * H) == berlin(2026, 1, 12, 23, 0)  # the weekend has no nights


def test_forty_business_hours_span_the_working_week():
    office = hours(**OFFICE)
    assert office.add(berlin(2026, 1, 12, 9, 0), 40 * H) == berlin(2026, 1, 16, 13, 0)
    assert office.add(berlin(2026, 1, 16, 13, 0), 45 * H) == berlin(2026, 1, 23, 13, 0)


def test_a_target_across_the_spring_forward_weekend_keeps_wall_clock_hours():
    office = hours(**OFFICE)
    assert office.add(berlin(2026, 3, 27, 17, 0), 2 * H) == berlin(2026, 3, 30, 10, 0)
    assert berlin(2026, 3, 30, 10, 0) == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)


def test_zero_adds_nothing_and_negative_or_naive_input_is_refused():
    office = hours(**OFFICE)
    saturday = berlin(2026, 1, 10, 11, 0)
    assert office.add(saturday, timedelta()) == saturday
    with pytest.raises(ValueError, match="negative"):
        office.add(saturday, -H)
    with pytest.raises(ValueError, match="timezone-aware"):
        office.add(datetime(2026, 1, 10, 11, 0), H)
    with pytest.raises(ValueError, match="before it starts"):
        office.elapsed(saturday, saturday - H)


def test_results_are_utc_even_for_instants_given_in_another_zone():
    office = hours(**OFFICE)
    local = datetime(2026, 1, 9, 17, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert office.add(local, 2 * H).tzinfo is UTC
    assert office.next_opening(local).tzinfo is UTC


def test_a_year_of_office_hours_is_fifty_two_full_weeks_despite_two_clock_changes():
    office = hours(**OFFICE)
    start, end = berlin(2026, 1, 5, 0, 0), berlin(2027, 1, 4, 0, 0)
    assert office.elapsed(start, end) == 52 * 45 * H
    assert office.add(start, 52 * 45 * H) == berlin(2027, 1, 1, 18, 0)


def test_a_decade_with_holidays_is_counted_and_found_again():
    holidays = tuple(f"{year}-12-{day}" for year in range(2026, 2036) for day in (24, 25, 26, 31))
    office = hours(holidays=holidays, **OFFICE)
    start, end = berlin(2026, 1, 5, 0, 0), berlin(2036, 1, 7, 0, 0)
    total = office.elapsed(start, end)
    assert office.add(start, total) <= end
    assert office.elapsed(start, office.add(start, total)) == total
    weeks = [start + k * timedelta(weeks=1) for k in range(522)] + [end]
    assert total == sum((office.elapsed(a, b) for a, b in zip(weeks, weeks[1:], strict=False)), timedelta())


# --- clock changes --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "length"),
    [
        ("Europe/Berlin", date(2026, 3, 29), 23),   # 02:00 → 03:00
        ("Europe/Berlin", date(2026, 10, 25), 25),  # 03:00 → 02:00
        ("America/New_York", date(2026, 3, 8), 23),
        ("America/New_York", date(2026, 11, 1), 25),
        ("Australia/Sydney", date(2026, 4, 5), 25),  # southern hemisphere: autumn in April
        ("Australia/Sydney", date(2026, 10, 4), 23),
        ("Australia/Lord_Howe", date(2026, 4, 5), 24.5),  # a half-hour change
        ("America/Santiago", date(2026, 9, 6), 23),  # jumps at midnight: Sunday 00:00 never happens
        ("UTC", date(2026, 3, 29), 24),
    ],
)
def test_a_whole_day_shift_is_as_long_as_the_day(zone, day, length):
    sundays = hours(zone, sun=["00:00-24:00"])
    start = at(zone, day.year, day.month, day.day)
    assert sundays.elapsed(start - 12 * H, start + 36 * H) == timedelta(hours=length)


@pytest.mark.parametrize(
    ("zone", "saturday", "length"),
    [("America/New_York", date(2026, 3, 7), 7), ("America/New_York", date(2026, 10, 31), 9),
     ("Europe/Berlin", date(2026, 3, 28), 7), ("Europe/Berlin", date(2026, 10, 24), 9)],
)
def test_a_night_shift_is_an_hour_shorter_or_longer_when_the_clocks_change_inside_it(zone, saturday, length):
    nights = hours(zone, sat=["22:00-06:00"])
    sunday = saturday + timedelta(days=1)
    start = at(zone, saturday.year, saturday.month, saturday.day, 12)
    assert nights.elapsed(start, start + 24 * H) == timedelta(hours=length)
    assert nights.add(at(zone, saturday.year, saturday.month, saturday.day, 22), timedelta(hours=length)) == at(
        zone, sunday.year, sunday.month, sunday.day, 6)


def test_a_shift_that_starts_in_the_skipped_hour_opens_when_the_clocks_jump():
    late = hours(sun=["02:30-05:00"])
    assert late.next_opening(berlin(2026, 3, 29, 0, 0)) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST
    assert late.elapsed(berlin(2026, 3, 29, 0, 0), berlin(2026, 3, 30, 0, 0)) == 2 * H


def test_a_shift_wholly_inside_the_skipped_hour_does_not_happen_that_day():
    ghost = hours(sun=["02:15-02:45"])
    assert ghost.elapsed(berlin(2026, 3, 29, 0, 0), berlin(2026, 3, 30, 0, 0)) == timedelta()
    assert ghost.next_opening(berlin(2026, 3, 29, 0, 0)) == berlin(2026, 4, 5, 2, 15)


def test_a_wall_time_that_occurs_twice_means_its_first_occurrence():
    early, late = hours(sun=["01:00-02:30"]), hours(sun=["02:30-04:00"])
    first_half_past_two = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    assert to_utc(datetime(2026, 10, 25, 2, 30), ZoneInfo("Europe/Berlin")) == first_half_past_two
    assert early.add(berlin(2026, 10, 25, 1, 0), 90 * timedelta(minutes=1)) == first_half_past_two
    assert late.next_opening(berlin(2026, 10, 25, 0, 0)) == first_half_past_two
    assert late.elapsed(berlin(2026, 10, 25, 0, 0), berlin(2026, 10, 26, 0, 0)) == 2.5 * H


def test_a_fall_back_at_midnight_lengthens_the_saturday_evening():
    evening = hours("America/Santiago", sat=["20:00-24:00"])
    start = at("America/Santiago", 2026, 4, 4, 12)
    assert evening.elapsed(start, start + 24 * H) == 5 * H
    assert evening.is_open(at("America/Santiago", 2026, 4, 4, 23, 30, fold=1))


# --- pauses ---------------------------------------------------------------------------------------------------------


def test_pending_time_inside_business_hours_does_not_count():
    office = hours(**OFFICE)
    start, end = berlin(2026, 1, 12, 9), berlin(2026, 1, 12, 18)
    pauses = [(berlin(2026, 1, 12, 10), berlin(2026, 1, 12, 12))]
    assert office.elapsed_excluding(start, end, pauses) == 7 * H


def test_a_snooze_over_the_weekend_changes_nothing_and_overlapping_pauses_count_once():
    office = hours(**OFFICE)
    start, end = berlin(2026, 1, 9, 9), berlin(2026, 1, 12, 18)
    weekend = [(berlin(2026, 1, 9, 18), berlin(2026, 1, 12, 9))]
    assert office.elapsed_excluding(start, end, weekend) == office.elapsed(start, end) == 18 * H
    overlapping = [(berlin(2026, 1, 12, 10), berlin(2026, 1, 12, 12)),
                   (berlin(2026, 1, 12, 11), berlin(2026, 1, 12, 13)),
                   (berlin(2026, 1, 8, 0), berlin(2026, 1, 9, 10))]
    assert office.elapsed_excluding(start, end, overlapping) == 18 * H - 3 * H - 1 * H


def test_a_pause_still_running_stops_the_clock_until_the_end():
    office = hours(**OFFICE)
    start, now = berlin(2026, 1, 12, 9), berlin(2026, 1, 12, 17)
    assert office.elapsed_excluding(start, now, [(berlin(2026, 1, 12, 11), None)]) == 2 * H
    with pytest.raises(ValueError, match="before it starts"):
        office.elapsed_excluding(start, now, [(berlin(2026, 1, 12, 11), berlin(2026, 1, 12, 10))])


# --- properties -----------------------------------------------------------------------------------------------------

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Australia/Lord_Howe", "America/Santiago",
         "America/St_Johns", "Asia/Kolkata", "UTC"]
EARLIEST, LATEST = datetime(2025, 9, 1), datetime(2027, 3, 1)
PROPERTY = settings(max_examples=80, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def _transitions(zone: str) -> list[datetime]:
    """Local midnights just before the zone changes its offset in the test window: instants worth aiming at."""
    tz, day, found = ZoneInfo(zone), EARLIEST, []
    while day < LATEST:
        if day.replace(tzinfo=tz).utcoffset() != (day + timedelta(days=1)).replace(tzinfo=tz).utcoffset():
            found.append(day.replace(tzinfo=tz).astimezone(UTC))
        day += timedelta(days=1)
    return found


TRANSITIONS = {zone: _transitions(zone) for zone in ZONES}


@st.composite
def schedules(draw, step: int = 15, zones: list[str] = ZONES) -> BusinessHours:
    """Random business hours: non-overlapping shifts on a ``step``-minute grid (split, past-midnight and whole-day
    shifts all occur), a few random holidays and sometimes a shutdown of several weeks."""
    zone = ZoneInfo(draw(st.sampled_from(zones)))
    slots = DAY_MINUTES // step
    candidates = draw(st.lists(st.tuples(st.integers(0, 6), st.integers(0, slots - 1), st.integers(1, slots)),
                               min_size=1, max_size=10))
    shifts: list[Shift] = []
    for weekday, start, length in candidates:
        shift = Shift(weekday, start * step, (start + min(length, slots - (1 if start else 0))) * step)
        try:
            BusinessHours(zone, (*shifts, shift))
            shifts.append(shift)
        except InvalidBusinessHours:
            pass  # overlaps one already drawn
    holidays = set(draw(st.lists(st.dates(EARLIEST.date(), LATEST.date()), max_size=25)))
    if draw(st.booleans()):
        first, length = draw(st.dates(EARLIEST.date(), LATEST.date())), draw(st.integers(1, 30))
        holidays |= {first + timedelta(days=n) for n in range(length)}
    return BusinessHours(zone, tuple(shifts), frozenset(holidays))


def instants(zone: ZoneInfo) -> st.SearchStrategy[datetime]:
    """Anywhere in the window, or within three days of one of the zone's clock changes."""
    near_change = st.builds(lambda change, minutes, micros: change + timedelta(minutes=minutes, microseconds=micros),
                            st.sampled_from(TRANSITIONS[zone.key] or [datetime(2026, 3, 29, tzinfo=UTC)]),
                            st.integers(-3 * DAY_MINUTES, 3 * DAY_MINUTES), st.integers(0, 999_999))
    return st.one_of(st.datetimes(EARLIEST, LATEST, timezones=st.just(UTC)), near_change)


durations = st.timedeltas(timedelta(seconds=1), timedelta(hours=200))


def wall_clock_open(business: BusinessHours, instant: datetime) -> bool:
    """Brute force from the spec, sharing no code with the module: open when the local wall clock shows a time
    inside a shift of that weekday (or the after-midnight part of the previous day's) on a day that is no holiday."""
    wall = instant.astimezone(business.zone)
    if wall.date() in business.holidays:
        return False
    minute = wall.hour * 60 + wall.minute + (wall.second + wall.microsecond / 1e6) / 60
    yesterday = (wall.weekday() - 1) % 7
    return any((shift.weekday == wall.weekday() and shift.start <= minute < min(shift.end, DAY_MINUTES))
               or (shift.weekday == yesterday and minute < shift.end - DAY_MINUTES)
               for shift in business.shifts)


@PROPERTY
@given(st.data())
def test_elapsed_undoes_add(data):
    business = data.draw(schedules())
    start, duration = data.draw(instants(business.zone)), data.draw(durations)
    due = business.add(start, duration)
    assert business.elapsed(start, due) == duration
    assert business.elapsed(start, due - TICK) < duration  # the earliest such instant


@PROPERTY
@given(st.data())
def test_add_grows_with_the_duration(data):
    business = data.draw(schedules())
    start = data.draw(instants(business.zone))
    shorter, longer = sorted(data.draw(st.lists(durations, min_size=2, max_size=2, unique=True)))
    assert start < business.add(start, shorter) < business.add(start, longer)


@PROPERTY
@given(st.data())
def test_a_target_falls_due_at_an_open_moment_or_as_a_shift_ends_and_never_on_a_holiday(data):
    business = data.draw(schedules())
    due = business.add(data.draw(instants(business.zone)), data.draw(durations))
    assert business.is_open(due) or business.is_open(due - TICK)
    assert (due - TICK).astimezone(business.zone).date() not in business.holidays


@PROPERTY
@given(st.data())
def test_elapsed_is_additive_and_never_exceeds_wall_time(data):
    business = data.draw(schedules())
    first, second, third = sorted(data.draw(st.lists(instants(business.zone), min_size=3, max_size=3)))
    assert business.elapsed(first, second) + business.elapsed(second, third) == business.elapsed(first, third)
    assert business.elapsed(first, third) <= third - first


@PROPERTY
@given(st.data())
def test_next_opening_is_open_with_nothing_open_before_it(data):
    business = data.draw(schedules())
    instant = data.draw(instants(business.zone))
    opening = business.next_opening(instant)
    assert opening >= instant
    assert business.is_open(opening)
    assert business.elapsed(instant, opening) == timedelta()
    assert opening.astimezone(business.zone).date() not in business.holidays
    assert (opening == instant) is business.is_open(instant)


@PROPERTY
@given(st.data())
def test_holidays_are_closed(data):
    business = data.draw(schedules())
    holiday = data.draw(st.sampled_from(sorted(business.holidays) or [date(2026, 12, 25)]))
    moment = to_utc(datetime.combine(holiday, datetime.min.time()), business.zone) + data.draw(
        st.timedeltas(timedelta(), timedelta(hours=23)))
    if moment.astimezone(business.zone).date() in business.holidays:
        assert not business.is_open(moment)


@PROPERTY
@given(st.data())
def test_pauses_never_add_time(data):
    business = data.draw(schedules())
    start, end = sorted(data.draw(st.lists(instants(business.zone), min_size=2, max_size=2)))
    pause = st.tuples(instants(business.zone), instants(business.zone)).map(sorted).map(tuple)
    pauses = data.draw(st.lists(pause, max_size=4))
    excluded = business.elapsed_excluding(start, end, pauses)
    assert timedelta() <= excluded <= business.elapsed(start, end)
    assert business.elapsed_excluding(start, end, [*pauses, (start, None)]) == timedelta()
    assert business.elapsed_excluding(start, end, pauses[:-1]) >= excluded


@PROPERTY
@given(st.sampled_from(ZONES), st.data())
def test_always_open_business_time_is_wall_time(zone, data):
    always = BusinessHours.always_open(zone)
    start, end = sorted(data.draw(st.lists(instants(ZoneInfo(zone)), min_size=2, max_size=2)))
    duration = data.draw(durations)
    assert always.elapsed(start, end) == end - start
    assert always.add(start, duration) == start + duration
    assert always.is_open(start)


@PROPERTY
@given(schedules())
def test_the_configuration_round_trips(business):
    assert BusinessHours.from_dict(business.to_dict()) == business


@PROPERTY
@given(st.data())
def test_is_open_agrees_with_the_wall_clock(data):
    # Whole-hour shifts: no shift edge falls strictly inside a repeated hour, the one place where "first
    # occurrence" and "any moment the wall clock shows it" differ.
    business = data.draw(schedules(step=60))
    instant = data.draw(instants(business.zone))
    assert business.is_open(instant) is wall_clock_open(business, instant)


@settings(PROPERTY, max_examples=40)
@given(st.data())
def test_elapsed_agrees_with_counting_quarter_hours(data):
    # Every zone here is a whole number of quarter hours from UTC, so whole-hour shifts open and close on the
    # quarter-hour grid and sampling it counts open time exactly, over spans long enough to skip whole weeks.
    business = data.draw(schedules(step=60))
    quarter = timedelta(minutes=15)
    start = data.draw(instants(business.zone)).replace(second=0, microsecond=0)
    start -= timedelta(minutes=start.minute % 15)
    quarters = data.draw(st.integers(0, 4 * 24 * 21))
    counted = sum((quarter for k in range(quarters) if wall_clock_open(business, start + k * quarter)), timedelta())
    assert business.elapsed(start, start + quarters * quarter) == counted
