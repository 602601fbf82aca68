"""Snoozing as the API receives it (presets in the tenant's zone, a moment, seconds, until the contact replies) and the
timers it starts: a Step Functions execution per snooze version, however long the snooze, replaced on re-snooze and
cancelled on unsnooze; none at all for "until the contact replies"."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from switchboard.domain import clock
from switchboard.domain.conversation import Conversation, OperatorView, Status
from switchboard.domain.errors import BadRequest
from switchboard.domain.snooze_presets import Preset, SnoozeChoice, tomorrow_at
from switchboard.services.reactions import ReactionService
from switchboard.store.streams import Change
from switchboard.timers.snooze import SnoozeTimers
from switchboard.timers.waits import seconds_until
from tests.unit.test_services import deliver, only_conversation, update

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 7, 15, 14, 0, tzinfo=UTC)  # a Wednesday, 16:00 in Berlin
ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:snooze"


class FakeStepFunctions:
    """Stands in for the Step Functions client: remembers started executions by name and the stopped ones."""

    class exceptions:  # noqa: N801 - botocore's spelling
        class ExecutionAlreadyExists(Exception):
            pass

    def __init__(self) -> None:
        self.started: dict[str, dict] = {}
        self.stopped: list[str] = []

    def start_execution(self, stateMachineArn: str, name: str, input: str) -> dict:  # noqa: N803, A002
        if name in self.started and self.started[name] != json.loads(input):
            raise self.exceptions.ExecutionAlreadyExists(name)
        self.started[name] = json.loads(input)
        return {"executionArn": f"{stateMachineArn}:{name}"}

    def stop_execution(self, executionArn: str, cause: str) -> dict:  # noqa: N803
        self.stopped.append(executionArn.rsplit(":", 1)[1])
        return {}


def snoozed(version: int, until: str | None) -> Conversation:
    return Conversation(tenant_id="t", id="c1", inbox_id="i", contact_id="k", channel="telegram",
                        status=Status.SNOOZED, snoozed_until=until, snooze_version=version, version=version + 1)


def reactions(sfn: FakeStepFunctions, now: datetime = NOW) -> ReactionService:
    return ReactionService(None, "unused", SnoozeTimers(sfn, ARN), answer_button=lambda image: None,
                           store_attachments=lambda message: 0, now=lambda: now)


# ------------------------------------------------------------------ what a request says
@pytest.mark.parametrize(("body", "expected"), [
    ({"preset": "in_1_hour"}, NOW + timedelta(hours=1)),
    ({"preset": "tomorrow_0900"}, datetime(2026, 7, 16, 7, 0, tzinfo=UTC)),  # 09:00 CEST
    ({"preset": "next_monday_0900"}, datetime(2026, 7, 20, 7, 0, tzinfo=UTC)),
    ({"seconds": 90}, NOW + timedelta(seconds=90)),
    ({"until": "2026-08-01T10:00:00+02:00"}, datetime(2026, 8, 1, 8, 0, tzinfo=UTC)),
    ({"until": "2026-08-01T08:00:00Z"}, datetime(2026, 8, 1, 8, 0, tzinfo=UTC)),
    ({"until_reply": True}, None),
])
def test_each_way_of_saying_when_resolves_on_the_tenants_wall_clock(body, expected):
    assert SnoozeChoice.parse(body).wake_at(NOW, BERLIN) == expected


def test_the_same_preset_means_another_instant_in_another_zone():
    choice = SnoozeChoice.parse({"preset": "tomorrow_0900"})
    assert choice.wake_at(NOW, BERLIN) != choice.wake_at(NOW, ZoneInfo("America/New_York"))
    assert choice.wake_at(NOW, ZoneInfo("America/New_York")) == datetime(2026, 7, 16, 13, 0, tzinfo=UTC)


@pytest.mark.parametrize(("body", "says"), [
    ({}, "exactly one of"),
    ({"seconds": 60, "preset": "in_1_hour"}, "exactly one of"),
    ({"preset": "next_week"}, "Unknown snooze preset 'next_week'"),
    ({"seconds": 0}, "positive whole number"),
    ({"seconds": True}, "positive whole number"),
    ({"seconds": "60"}, "positive whole number"),
    ({"until": "tomorrow-ish"}, "not an ISO-8601 time"),
    ({"until": "2026-08-01T10:00:00"}, "time zone offset"),
    ({"until": 1784538902}, "ISO-8601 time with a time zone offset"),
    ({"until_reply": False}, "until_reply must be true"),
])
def test_a_malformed_request_is_a_400_that_says_what_to_send(body, says):
    with pytest.raises(BadRequest, match=says):
        SnoozeChoice.parse(body)


@pytest.mark.parametrize(("body", "says"), [
    ({"until": "2026-07-15T13:59:00Z"}, "in the future"),
    ({"until": "2027-07-15T14:00:01Z"}, "at most a year"),
    ({"seconds": 400 * 24 * 3600}, "at most a year"),
])
def test_a_moment_in_the_past_or_beyond_a_year_is_refused(body, says):
    with pytest.raises(BadRequest, match=says):
        SnoozeChoice.parse(body).wake_at(NOW, BERLIN)


# ------------------------------------------------------------------ the timer
def test_a_snooze_of_weeks_waits_the_same_way_as_one_of_minutes():
    sfn = FakeStepFunctions()
    until = clock.iso(NOW + timedelta(weeks=3))
    SnoozeTimers(sfn, ARN).start(snoozed(4, until), NOW)
    payload = sfn.started["c1-snooze-4"]
    assert payload["seconds"] == 3 * 7 * 24 * 3600  # SecondsPath: one Wait state, any length up to a year
    assert payload["snooze_version"] == "4"
    assert payload["wake"]["at"] == until and payload["wake"]["tenant_status"] == "t#open"
    assert payload["wake"]["status_key"] == f"open#{until}#c1"


@pytest.mark.parametrize(("due_in", "snooze", "deadline"), [
    (3.4, 3, 4), (3.6, 4, 4), (3.0, 3, 3), (0.3, 0, 1), (-2.0, 0, 0),
])
def test_whole_seconds_a_snooze_within_half_a_second_either_way_a_deadline_never_early(due_in, snooze, deadline):
    due = clock.iso(NOW + timedelta(seconds=due_in))
    assert (seconds_until(due, NOW), seconds_until(due, NOW, never_early=True)) == (snooze, deadline)


def test_a_redelivered_stream_record_starts_no_second_timer():
    sfn = FakeStepFunctions()
    change = Change("conversations", "MODIFY", snoozed(1, clock.iso(NOW + timedelta(hours=1))), None, {})
    reactions(sfn).react(change)
    reactions(sfn).react(change)  # the same name and input: harmless
    assert list(sfn.started) == ["c1-snooze-1"]


def test_re_snoozing_replaces_the_timer_and_unsnoozing_cancels_it():
    sfn = FakeStepFunctions()
    first = snoozed(1, clock.iso(NOW + timedelta(hours=1)))
    second = dataclasses.replace(first, snoozed_until=clock.iso(NOW + timedelta(days=3)), snooze_version=2)
    woken = dataclasses.replace(second, status=Status.OPEN, snoozed_until=None)
    reactions(sfn).react(Change("conversations", "MODIFY", second, first, {}))
    assert list(sfn.started) == ["c1-snooze-2"] and sfn.stopped == ["c1-snooze-1"]
    reactions(sfn).react(Change("conversations", "MODIFY", woken, second, {}))
    assert sfn.stopped == ["c1-snooze-1", "c1-snooze-2"]


def test_until_the_contact_replies_starts_no_timer_and_replaces_a_timed_one():
    sfn = FakeStepFunctions()
    timed = snoozed(1, clock.iso(NOW + timedelta(hours=1)))
    until_reply = dataclasses.replace(timed, snoozed_until=None, snooze_version=2)
    reactions(sfn).react(Change("conversations", "MODIFY", until_reply, timed, {}))
    assert sfn.started == {} and sfn.stopped == ["c1-snooze-1"]


# ------------------------------------------------------------------ the service, on moto
def owner(demo) -> OperatorView:
    person = demo["operators"][0]
    return OperatorView(demo["tenant"]["id"], person["id"], "owner", name=person["name"])


def activity(services, demo, conversation_id) -> list[str]:
    page, _ = services.conversation_service.messages(owner(demo), conversation_id, limit=50, cursor=None)
    return [m.text for m in page if str(m.type) == "activity"]


def test_a_preset_is_read_in_the_tenants_time_zone(world):
    services, demo = world  # the demo tenant works in Europe/Berlin
    deliver(services, demo, update(1, 1, "call me tomorrow"))
    conversation = only_conversation(services, demo)
    before = clock.now()
    snoozed_row = services.conversation_service.snooze_for(owner(demo), conversation.id,
                                                           SnoozeChoice(preset=Preset.TOMORROW_MORNING))
    wake = clock.parse_iso(snoozed_row.snoozed_until)
    assert wake in {tomorrow_at(before, BERLIN), tomorrow_at(clock.now(), BERLIN)}  # a midnight may pass between
    assert wake.astimezone(BERLIN).hour == 9
    assert activity(services, demo, conversation.id)[-1].endswith(
        f"until {wake.astimezone(BERLIN):%a %Y-%m-%d} 09:00 (Europe/Berlin)")


def test_until_reply_snoozes_without_a_time_and_the_contact_wakes_it(world):
    services, demo = world
    deliver(services, demo, update(1, 1, "I'll send the photos"))
    conversation = only_conversation(services, demo)
    snoozed_row = services.conversation_service.snooze_for(owner(demo), conversation.id,
                                                           SnoozeChoice(until_reply=True))
    assert (snoozed_row.status, snoozed_row.snoozed_until) == (Status.SNOOZED, None)
    assert snoozed_row.snooze_version == conversation.snooze_version + 1  # any timed snooze before is stale now
    assert activity(services, demo, conversation.id)[-1] == "Olivia Owner snoozed this until the contact replies"
    deliver(services, demo, update(2, 2, "here they are"))
    assert only_conversation(services, demo).status is Status.OPEN


def test_a_snooze_time_in_the_past_is_refused_by_the_service_too(world):
    services, demo = world
    deliver(services, demo, update(1, 1, "hello"))
    conversation = only_conversation(services, demo)
    with pytest.raises(BadRequest, match="in the future"):
        services.conversation_service.snooze(owner(demo), conversation.id, clock.now() - timedelta(seconds=1))
    assert only_conversation(services, demo).status is Status.OPEN
