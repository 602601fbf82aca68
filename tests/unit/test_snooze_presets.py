"""Snooze presets (domain/snooze_presets.py): wall-clock times in the tenant's zone, right across clock changes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.domain.errors import BadRequest
from switchboard.domain.snooze_presets import (
    Preset,
    custom_moment,
    in_one_hour,
    next_weekday_at,
    snooze_until,
    tomorrow_at,
)

BERLIN, NEW_YORK, SYDNEY = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York"), ZoneInfo("Australia/Sydney")


def at(zone: ZoneInfo, *wall: int) -> datetime:
    return datetime(*wall, tzinfo=zone).astimezone(UTC)


def test_in_one_hour_is_an_hour_of_real_time_even_when_the_clocks_jump():
    now = at(BERLIN, 2026, 3, 29, 1, 30)  # CET; at 02:00 the clocks jump to 03:00
    assert in_one_hour(now) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST on the wall
    assert snooze_until(Preset.IN_ONE_HOUR, now, BERLIN) == now + timedelta(hours=1)


@pytest.mark.parametrize(
    ("zone", "now", "expected"),
    [
        (BERLIN, (2026, 3, 28, 20, 0), datetime(2026, 3, 29, 7, 0, tzinfo=UTC)),   # summer time from tonight
        (BERLIN, (2026, 10, 24, 20, 0), datetime(2026, 10, 25, 8, 0, tzinfo=UTC)),  # winter time from tonight
        (NEW_YORK, (2026, 3, 7, 22, 0), datetime(2026, 3, 8, 13, 0, tzinfo=UTC)),  # already Sunday in UTC
        (NEW_YORK, (2026, 10, 31, 23, 59), datetime(2026, 11, 1, 14, 0, tzinfo=UTC)),
        (SYDNEY, (2026, 4, 4, 8, 0), datetime(2026, 4, 4, 23, 0, tzinfo=UTC)),  # still Friday in UTC
        (SYDNEY, (2026, 10, 3, 18, 0), datetime(2026, 10, 3, 22, 0, tzinfo=UTC)),
    ],
)
def test_tomorrow_morning_is_nine_on_the_tenants_wall_after_a_clock_change(zone, now, expected):
    assert tomorrow_at(at(zone, *now), zone) == expected
    assert expected.astimezone(zone).time() == time(9, 0)


def test_tomorrow_just_after_midnight_is_the_next_calendar_day():
    now = at(BERLIN, 2026, 1, 13, 0, 30)
    assert tomorrow_at(now, BERLIN) == at(BERLIN, 2026, 1, 14, 9, 0)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ((2026, 1, 12, 8, 0), (2026, 1, 19, 9, 0)),  # a Monday before nine: the following Monday
        ((2026, 1, 12, 10, 0), (2026, 1, 19, 9, 0)),
        ((2026, 1, 14, 15, 0), (2026, 1, 19, 9, 0)),  # Wednesday
        ((2026, 1, 18, 23, 0), (2026, 1, 19, 9, 0)),  # Sunday night: tomorrow
        ((2026, 3, 25, 12, 0), (2026, 3, 30, 9, 0)),  # over the spring-forward weekend
    ],
)
def test_next_monday_morning(now, expected):
    assert next_weekday_at(at(BERLIN, *now), BERLIN) == at(BERLIN, *expected)
    assert snooze_until("next_monday_0900", at(BERLIN, *now), "Europe/Berlin") == at(BERLIN, *expected)


def test_a_wall_time_the_clocks_skip_means_the_moment_they_jump():
    assert tomorrow_at(at(BERLIN, 2026, 3, 28, 12, 0), BERLIN, time(2, 30)) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_unknown_presets_and_zones_are_bad_requests():
    now = datetime(2026, 1, 12, 12, 0, tzinfo=UTC)
    with pytest.raises(BadRequest, match="Unknown snooze preset 'next_week'"):
        snooze_until("next_week", now, BERLIN)
    with pytest.raises(BadRequest, match="Unknown time zone"):
        snooze_until(Preset.TOMORROW_MORNING, now, "Europe/Atlantis")


def test_a_custom_moment_must_be_in_the_future_and_within_a_year():
    now = datetime(2026, 1, 12, 12, 0, tzinfo=UTC)
    later = datetime(2026, 1, 12, 15, 0, tzinfo=BERLIN)
    assert custom_moment(later, now) == datetime(2026, 1, 12, 14, 0, tzinfo=UTC)
    assert custom_moment(now.replace(year=2027), now) == now.replace(year=2027)
    for refused, reason in [(now, "in the future"), (now - timedelta(minutes=1), "in the future"),
                            (now.replace(year=2027) + timedelta(seconds=1), "at most a year"),
                            (datetime(2026, 2, 1, 9, 0), "time zone offset")]:
        with pytest.raises(BadRequest, match=reason):
            custom_moment(refused, now)


def test_a_year_from_a_leap_day_ends_on_the_last_day_of_february():
    leap = datetime(2028, 2, 29, 12, 0, tzinfo=UTC)
    assert custom_moment(datetime(2029, 2, 28, 12, 0, tzinfo=UTC), leap)
    with pytest.raises(BadRequest):
        custom_moment(datetime(2029, 3, 1, 0, 0, tzinfo=UTC), leap)


# --- properties -----------------------------------------------------------------------------------------------------

ZONES = [BERLIN, NEW_YORK, SYDNEY, ZoneInfo("Australia/Lord_Howe"), ZoneInfo("America/Santiago"),
         ZoneInfo("Asia/Kolkata"), ZoneInfo("Pacific/Chatham"), ZoneInfo("UTC")]
PROPERTY = settings(max_examples=150, deadline=None, database=None)
moments = st.datetimes(datetime(2025, 1, 1), datetime(2028, 12, 31), timezones=st.just(UTC))


@PROPERTY
@given(moments, st.sampled_from(ZONES))
def test_tomorrow_morning_is_nine_on_the_next_local_day(now, zone):
    wake = tomorrow_at(now, zone)
    assert wake.tzinfo is UTC and wake > now
    assert wake.astimezone(zone).date() == now.astimezone(zone).date() + timedelta(days=1)
    assert wake.astimezone(zone).time() == time(9, 0)


@PROPERTY
@given(moments, st.sampled_from(ZONES), st.integers(0, 6))
def test_next_weekday_is_within_a_week_and_never_today(now, zone, weekday):
    wake = next_weekday_at(now, zone, weekday)
    days_ahead = (wake.astimezone(zone).date() - now.astimezone(zone).date()).days
    assert 1 <= days_ahead <= 7
    assert wake.astimezone(zone).weekday() == weekday
    assert wake.astimezone(zone).time() == time(9, 0)


@PROPERTY
@given(moments, st.sampled_from(ZONES), st.sampled_from(list(Preset)))
def test_every_preset_is_a_valid_custom_moment(now, zone, preset):
    wake = snooze_until(preset, now, zone)
    assert custom_moment(wake, now) == wake
