"""Snooze on the local stack, through the API as the client's menu calls it: presets read on the tenant's wall clock,
"until the contact replies" without a timer, re-snoozing that replaces the timer, and a snooze of weeks whose
execution waits like one of seconds until unsnoozing cancels it."""

from __future__ import annotations

import itertools
import json
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import boto3
import pytest

from switchboard.domain.snooze_presets import tomorrow_at
from tests.integration.helpers import TelegramCustomer, conversation_of, demo_operator, eventually

BERLIN = ZoneInfo("Europe/Berlin")  # the demo tenant's time zone
_chat_ids = itertools.count(661_000_001)


@pytest.fixture
def anna(stack):
    return demo_operator(stack, "anna@acme.example")


@pytest.fixture
def customer(stack, request):
    return TelegramCustomer(stack, next(_chat_ids), first_name=f"Snoozer {request.node.name[-36:]}")


def opened(anna, customer) -> dict:
    return eventually(lambda: conversation_of(anna, customer.first_name, status="open"))


def executions(stack, conversation_id: str) -> dict[str, dict]:
    """The snooze executions of one conversation by name, each with its status and input."""
    sfn = boto3.client("stepfunctions")
    listed = sfn.list_executions(stateMachineArn=stack.outputs["SnoozeStateMachineArn"])["executions"]
    return {e["name"]: sfn.describe_execution(executionArn=e["executionArn"]) for e in listed
            if e["name"].startswith(f"{conversation_id}-snooze-")}


def states_entered(execution_arn: str) -> list[str]:
    history = boto3.client("stepfunctions").get_execution_history(executionArn=execution_arn)["events"]
    return [event["stateEnteredEventDetails"]["name"] for event in history if "stateEnteredEventDetails" in event]


def test_tomorrow_morning_is_nine_on_the_tenants_wall_not_the_servers(anna, customer, wait_idle):
    customer.says("Can you call me tomorrow morning?")
    row = opened(anna, customer)
    before = datetime.now(UTC)
    snoozed = anna.post(f"/v1/conversations/{row['id']}/snooze", {"preset": "tomorrow_0900"})
    assert snoozed.status_code == 200, snoozed.text
    wake = datetime.fromisoformat(snoozed.json()["snoozed_until"].replace("Z", "+00:00"))
    assert wake in {tomorrow_at(before, BERLIN), tomorrow_at(datetime.now(UTC), BERLIN)}
    assert wake.astimezone(BERLIN).strftime("%H:%M") == "09:00"  # while the servers run on UTC
    activity = [m["text"] for m in anna.conversation(row["id"])["messages"]["items"] if m["type"] == "activity"]
    assert activity[-1].endswith("09:00 (Europe/Berlin)")
    assert anna.post(f"/v1/conversations/{row['id']}/unsnooze").status_code == 200
    wait_idle()


def test_until_the_contact_replies_starts_no_timer_and_their_message_wakes_it(stack, anna, customer, wait_idle):
    customer.says("I'll look for the receipt and write back")
    row = opened(anna, customer)
    snoozed = anna.post(f"/v1/conversations/{row['id']}/snooze", {"until_reply": True})
    assert snoozed.status_code == 200, snoozed.text
    assert (snoozed.json()["status"], snoozed.json()["snoozed_until"]) == ("snoozed", None)
    wait_idle()
    assert executions(stack, row["id"]) == {}
    assert conversation_of(anna, customer.first_name, status="snoozed") is not None
    customer.says("Found it: #R-2291")
    woken = eventually(lambda: conversation_of(anna, customer.first_name, status="open"))
    assert woken["last_message"]["text"] == "Found it: #R-2291"


def test_re_snoozing_replaces_the_timer_so_the_first_one_changes_nothing(stack, anna, customer, wait_idle):
    customer.says("Let me check with my wife")
    row = opened(anna, customer)
    url = f"/v1/conversations/{row['id']}"
    assert anna.post(f"{url}/snooze", {"seconds": 2}).status_code == 200
    wait_idle()  # the first timer is running
    again = anna.post(f"{url}/snooze", {"preset": "in_1_hour"})
    assert again.status_code == 200, again.text
    version = again.json()["version"]
    time.sleep(3)  # past the first wake-up time
    after = anna.conversation(row["id"])["conversation"]
    assert (after["status"], after["version"], after["snoozed_until"]) == (
        "snoozed", version, again.json()["snoozed_until"])
    timers = eventually(lambda: (found := executions(stack, row["id"])) and len(found) == 2 and found)
    first, second = (timers[f"{row['id']}-snooze-{n}"] for n in (1, 2))
    assert first["status"] == "ABORTED" or states_entered(first["executionArn"])[-1] == "StaleTimer"
    assert second["status"] == "RUNNING"
    assert anna.post(f"{url}/unsnooze").status_code == 200
    wait_idle()


def test_a_snooze_of_three_weeks_waits_in_its_execution_until_unsnooze_cancels_it(stack, anna, customer, wait_idle):
    customer.says("Back from holiday on the 3rd, talk then")
    row = opened(anna, customer)
    until = (datetime.now(UTC) + timedelta(weeks=3)).replace(microsecond=0)
    snoozed = anna.post(f"/v1/conversations/{row['id']}/snooze", {"until": until.isoformat()})
    assert snoozed.status_code == 200, snoozed.text
    name = f"{row['id']}-snooze-1"
    waiting = eventually(lambda: executions(stack, row["id"]).get(name))
    assert waiting["status"] == "RUNNING"
    assert json.loads(waiting["input"])["seconds"] == pytest.approx(21 * 24 * 3600, abs=5)
    assert states_entered(waiting["executionArn"]) == ["WaitUntilWake"]
    # When Anna unsnoozes it, the execution is stopped, and the conversation is open at once
    back = anna.post(f"/v1/conversations/{row['id']}/unsnooze")
    assert back.status_code == 200 and back.json()["status"] == "open"
    wait_idle()
    assert eventually(lambda: executions(stack, row["id"])[name]["status"] == "ABORTED")
    assert anna.conversation(row["id"])["conversation"]["version"] == back.json()["version"]


def test_bad_snooze_requests_are_400s_that_say_what_to_send(anna, customer):
    customer.says("hello")
    row = opened(anna, customer)
    url = f"/v1/conversations/{row['id']}/snooze"
    for body, says in [({"preset": "next_week"}, "Unknown snooze preset"),
                       ({"until": "2026-01-01T09:00:00"}, "offset"),
                       ({"until": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()}, "in the future"),
                       ({"until": (datetime.now(UTC) + timedelta(days=400)).isoformat()}, "at most a year"),
                       ({"seconds": 60, "until_reply": True}, "exactly one of")]:
        refused = anna.post(url, body)
        assert (refused.status_code, refused.headers["content-type"]) == (400, "application/problem+json")
        assert says in refused.json()["detail"]
    assert anna.conversation(row["id"])["conversation"]["status"] == "open"
