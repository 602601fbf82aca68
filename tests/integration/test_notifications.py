"""Operator notifications on the local stack: each event reaches the right operators (and nobody else) live through
their sockets and by e-mail through SES, as each of them prefers; a retried stream batch sends nothing twice; a note's
@mention notifies the colleague it names and never reaches the customer."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from itertools import count
from typing import Any

import boto3
import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from infra.devstack.pumps import _lambda_stream_record
from tests.integration.helpers import Operator, TelegramCustomer, demo_inbox, demo_operator, eventually

NAMES = ("owner", "anna", "boris", "sofia")
_chat_ids = count(771_000_001)


@pytest.fixture(scope="module")
def people(stack) -> dict[str, Operator]:
    """The demo operators, signed in: owner (Support + Billing), anna (Support), boris (Billing), sofia (supervisor,
    Support + Billing)."""
    return {name: demo_operator(stack, f"{name}@acme.example") for name in NAMES}


@pytest.fixture(autouse=True)
def default_preferences(people) -> Iterator[None]:
    """Every test starts and ends with everyone on the default preferences (the stack is shared by the session)."""
    for person in people.values():
        assert person.http.put("/v1/me/notification-preferences", json={"preferences": {}}).status_code == 200
    yield
    for person in people.values():
        person.http.put("/v1/me/notification-preferences", json={"preferences": {}})


def prefer(person: Operator, **channels: list[str]) -> None:
    answer = person.http.put("/v1/me/notification-preferences", json={"preferences": channels})
    assert answer.status_code == 200, answer.text


@contextmanager
def sockets(stack, people: dict[str, Operator], *names: str) -> Iterator[dict[str, ClientConnection]]:
    with ExitStack() as opened:
        yield {name: opened.enter_context(connect(f"{stack.urls['ws']}?token={people[name].token}"))
               for name in names}


def notifications(socket: ClientConnection, seconds: float) -> list[dict]:
    """The notifications the socket receives within ``seconds``."""
    found, deadline = [], time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            frame = json.loads(socket.recv(timeout=left))
        except TimeoutError:
            break
        if frame.get("type") == "notification":
            found.append(frame["notification"])
    return found


def next_notification(socket: ClientConnection, wanted: Callable[[dict], bool], timeout: float = 15.0) -> dict:
    deadline, others = time.monotonic() + timeout, []
    while (left := deadline - time.monotonic()) > 0:
        try:
            frame = json.loads(socket.recv(timeout=left))
        except TimeoutError:
            break
        if frame.get("type") == "notification" and wanted(frame["notification"]):
            return frame["notification"]
        others.append(frame.get("notification", frame.get("type")))
    raise AssertionError(f"no matching notification within {timeout} s; got {others}")


def about(conversation_id: str, found: list[dict]) -> list[dict]:
    return [notification for notification in found if notification["conversation_id"] == conversation_id]


def mails(stack, to: str, conversation_id: str) -> list[dict]:
    """What SES sent ``to`` about the conversation, read from the local stack's sent-mail endpoint."""
    answer = httpx.get(f"{stack.urls['gateway']}/sim/api/mail", params={"to": to}, timeout=10)
    assert answer.status_code == 200, answer.text
    return [mail for mail in answer.json()["messages"] if conversation_id in mail["text"]]


def mails_about(stack, conversation_id: str) -> list[dict]:
    return [mail for person in NAMES for mail in mails(stack, f"{person}@acme.example", conversation_id)]


def new_conversation(stack, wait_idle, people, name: str) -> tuple[TelegramCustomer, str]:
    """A Telegram customer writes for the first time: a new conversation in Support (the bot's default team)."""
    customer = TelegramCustomer(stack, next(_chat_ids), first_name=name)
    customer.says(f"Hello from {name}")
    row = eventually(lambda: next((r for r in people["owner"].conversations(status="open")
                                   if r["contact"]["name"] == name), None))
    wait_idle()
    return customer, row["id"]


def replay_conversation_change(stack, conversation_id: str, version: int) -> None:
    """Deliver the stream record of this conversation version to the reactions consumer again, exactly as Lambda
    does when it retries a batch."""
    arn = stack.outputs["ConversationsStreamArn"]
    streams = boto3.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    iterator, record = iterator["ShardIterator"], None
    while iterator and record is None:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        record = next((r for r in page["Records"] if _is_version(r, conversation_id, version)), None)
        iterator = page.get("NextShardIterator") if page["Records"] else None
    assert record is not None, f"no stream record of {conversation_id} version {version}"
    event = {"Records": [_lambda_stream_record(record, arn)]}
    assert stack.functions["ReactionsFunction"].invoke(event) == {"batchItemFailures": []}


def _is_version(record: dict[str, Any], conversation_id: str, version: int) -> bool:
    image = record["dynamodb"].get("NewImage", {})
    return (image.get("conversation_id", {}).get("S") == conversation_id
            and image.get("version", {}).get("N") == str(version))


# ------------------------------------------------------------------ new conversation in my teams
def test_a_new_conversation_reaches_its_team_live_and_nobody_else(stack, wait_idle, people):
    wait_idle()
    with sockets(stack, people, *NAMES) as live:
        TelegramCustomer(stack, next(_chat_ids), first_name="Nina New").says("Is the shop open today?")
        got = {name: next_notification(live[name], lambda n: n["event"] == "new_conversation"
                                       and n["body"] == "Nina New: Is the shop open today?")
               for name in ("owner", "anna", "sofia")}
        conversation_id = got["anna"]["conversation_id"]
        assert {n["conversation_id"] for n in got.values()} == {conversation_id}
        assert got["anna"]["title"] == "New conversation in Support"
        wait_idle()
        assert about(conversation_id, notifications(live["boris"], 0.5)) == []  # Billing only
        for name in ("owner", "anna", "sofia"):  # once each
            assert about(conversation_id, notifications(live[name], 0.2)) == []
    assert mails_about(stack, conversation_id) == []  # e-mail is off by default for new conversations


def test_an_operator_who_chose_email_for_new_conversations_gets_a_mail_and_no_live_notification(
        stack, wait_idle, people):
    prefer(people["sofia"], new_conversation=["email"])
    wait_idle()
    with sockets(stack, people, "sofia", "anna") as live:
        TelegramCustomer(stack, next(_chat_ids), first_name="Erik Email").says("Do you ship to Norway?")
        conversation_id = next_notification(live["anna"], lambda n: "Erik Email" in n["body"])["conversation_id"]
        [mail] = eventually(lambda: mails(stack, "sofia@acme.example", conversation_id))
        assert mail["subject"] == "New conversation in Support"
        assert "Erik Email: Do you ship to Norway?" in mail["text"]
        wait_idle()
        assert about(conversation_id, notifications(live["sofia"], 0.5)) == []
    assert mails(stack, "anna@acme.example", conversation_id) == []


# ------------------------------------------------------------------ assigned to me
def test_an_assignment_reaches_the_assignee_live_and_by_email_once_even_when_the_stream_retries(
        stack, wait_idle, people):
    _, conversation_id = new_conversation(stack, wait_idle, people, "Arne Assigned")
    with sockets(stack, people, *NAMES) as live:
        answer = people["sofia"].post(f"/v1/conversations/{conversation_id}/assign",
                                      {"assignee_id": people["anna"].id})
        assert answer.status_code == 200, answer.text
        told = next_notification(live["anna"], lambda n: n["conversation_id"] == conversation_id)
        assert (told["event"], told["title"]) == ("assigned", "Sofia Supervisor assigned you a conversation with "
                                                              "Arne Assigned")
        [mail] = eventually(lambda: mails(stack, "anna@acme.example", conversation_id))
        assert mail["subject"] == told["title"]
        wait_idle()

        # When Lambda delivers the same stream record again
        replay_conversation_change(stack, conversation_id, answer.json()["version"])
        replay_conversation_change(stack, conversation_id, answer.json()["version"])
        wait_idle()

        # Then nobody hears anything more: no second frame, no second mail
        for name in NAMES:
            assert about(conversation_id, notifications(live[name], 0.3)) == []
    assert len(mails(stack, "anna@acme.example", conversation_id)) == 1
    assert [m["to"] for m in mails_about(stack, conversation_id)] == [["anna@acme.example"]]

    # And the bell lists it, unread, after a reload; opening it marks it read
    def assignment() -> tuple[dict, int]:
        listed = people["anna"].get("/v1/notifications", limit=50).json()
        [item] = [n for n in about(conversation_id, listed["items"]) if n["event"] == "assigned"]
        return item, listed["unread_count"]

    item, unread = assignment()
    assert item["read"] is False and item["title"] == told["title"]
    marked = people["anna"].post("/v1/notifications/read", {"ids": [item["id"]]}).json()
    assert marked["unread_count"] == unread - 1
    assert assignment()[0]["read"] is True


def test_taking_a_conversation_yourself_notifies_nobody(stack, wait_idle, people):
    _, conversation_id = new_conversation(stack, wait_idle, people, "Tina Taken")
    with sockets(stack, people, *NAMES) as live:
        answer = people["anna"].post(f"/v1/conversations/{conversation_id}/assign",
                                     {"assignee_id": people["anna"].id})
        assert answer.status_code == 200, answer.text
        wait_idle()
        for name in NAMES:
            assert about(conversation_id, notifications(live[name], 0.3)) == []
    assert mails_about(stack, conversation_id) == []


# ------------------------------------------------------------------ new message in my conversations
def test_a_new_message_reaches_the_assignee_and_followers_as_they_prefer(stack, wait_idle, people):
    customer, conversation_id = new_conversation(stack, wait_idle, people, "Mia Message")
    url = f"/v1/conversations/{conversation_id}"
    assert people["anna"].post(f"{url}/assign", {"assignee_id": people["anna"].id}).status_code == 200
    assert people["sofia"].post(f"{url}/participants", {"operator_id": people["sofia"].id}).status_code == 200
    wait_idle()

    with sockets(stack, people, *NAMES) as live:
        customer.says("Where is my parcel?")
        for name in ("anna", "sofia"):
            told = next_notification(live[name], lambda n: n["conversation_id"] == conversation_id)
            assert (told["event"], told["title"], told["body"]) == (
                "new_message", "New message from Mia Message", "Where is my parcel?")
        wait_idle()
        for name in ("owner", "boris"):  # owner sees Support, but it is not hers; Boris cannot see it at all
            assert about(conversation_id, notifications(live[name], 0.3)) == []
        assert mails_about(stack, conversation_id) == []  # e-mail is off by default for new messages

        # When Anna wants new messages by e-mail only
        prefer(people["anna"], new_message=["email"])
        customer.says("It was due yesterday")
        [mail] = eventually(lambda: [m for m in mails(stack, "anna@acme.example", conversation_id)
                                     if "It was due yesterday" in m["text"]])
        assert mail["subject"] == "New message from Mia Message"
        next_notification(live["sofia"], lambda n: n["body"] == "It was due yesterday")
        wait_idle()
        assert about(conversation_id, notifications(live["anna"], 0.3)) == []
    assert [m["to"] for m in mails_about(stack, conversation_id)] == [["anna@acme.example"]]


# ------------------------------------------------------------------ snooze woke
def test_the_snooze_timer_waking_a_conversation_notifies_its_assignee(stack, wait_idle, people):
    _, conversation_id = new_conversation(stack, wait_idle, people, "Sven Snooze")
    url = f"/v1/conversations/{conversation_id}"
    assert people["anna"].post(f"{url}/assign", {"assignee_id": people["anna"].id}).status_code == 200
    with sockets(stack, people, *NAMES) as live:
        assert people["anna"].post(f"{url}/snooze", {"seconds": 2}).status_code == 200
        told = next_notification(live["anna"], lambda n: n["conversation_id"] == conversation_id)
        assert (told["event"], told["title"]) == ("snooze_woke", "The conversation with Sven Snooze woke up")
        assert people["anna"].conversation(conversation_id)["conversation"]["status"] == "open"
        wait_idle()
        for name in NAMES:
            assert about(conversation_id, notifications(live[name], 0.3)) == []
    assert mails_about(stack, conversation_id) == []  # in-app and browser by default


# ------------------------------------------------------------------ mentions
def test_a_mention_in_a_note_notifies_the_colleague_it_names_and_never_the_customer(stack, wait_idle, people):
    customer, conversation_id = new_conversation(stack, wait_idle, people, "Paula Private")
    note = "@anna can you check? @Boris too, and @nobody. Refund code 4417-secret"
    with sockets(stack, people, *NAMES) as live:
        answer = people["owner"].post(f"/v1/conversations/{conversation_id}/notes", {"text": note})
        assert answer.status_code == 201, answer.text
        told = next_notification(live["anna"], lambda n: n["conversation_id"] == conversation_id)
        assert (told["event"], told["title"], told["body"]) == ("mention", "Olivia Owner mentioned you", note)
        [mail] = eventually(lambda: mails(stack, "anna@acme.example", conversation_id))
        assert mail["subject"] == "Olivia Owner mentioned you" and note in mail["text"]
        wait_idle()
        # Boris cannot see a Support conversation, "@nobody" is nobody, and the owner wrote it
        for name in ("owner", "boris", "sofia"):
            assert about(conversation_id, notifications(live[name], 0.3)) == []
    assert [m["to"] for m in mails_about(stack, conversation_id)] == [["anna@acme.example"]]
    # The customer's chat got nothing: no call to the Bot API carries the note
    assert not [call for call in stack.simulator.calls() if "4417-secret" in json.dumps(call)]
    assert not [text for text in customer.replies_received() if "4417" in text]


def test_a_note_in_an_email_conversation_never_reaches_the_customers_mailbox(stack, wait_idle, people):
    inbox = demo_inbox(stack, "email")
    address = f"nora.{next(_chat_ids)}@example.org"
    sent = httpx.post(f"{stack.urls['gateway']}/sim/api/email/{inbox['id']}/send", timeout=30, json={
        "from": address, "name": "Nora Note", "subject": "Damaged box", "text": "The box arrived damaged."})
    assert sent.status_code == 200 and sent.json()["status"] == 200, sent.text
    row = eventually(lambda: next((r for r in people["owner"].conversations(status="open")
                                   if r["contact"]["name"] == "Nora Note"), None))
    note = "@anna please call the courier, internal ref 8812-private"
    wait_idle()
    with sockets(stack, people, "anna") as live:
        assert people["owner"].post(f"/v1/conversations/{row['id']}/notes", {"text": note}).status_code == 201
        next_notification(live["anna"], lambda n: n["conversation_id"] == row["id"] and n["event"] == "mention")
    eventually(lambda: mails(stack, "anna@acme.example", row["id"]))
    wait_idle()
    customer_mail = httpx.get(f"{stack.urls['gateway']}/sim/api/mail", params={"to": address}, timeout=10).json()
    assert not [mail for mail in customer_mail["messages"] if "8812-private" in json.dumps(mail)]


# ------------------------------------------------------------------ preferences over HTTP
def test_preferences_are_per_operator_and_refuse_what_they_do_not_know(people):
    anna, boris = people["anna"], people["boris"]
    prefer(anna, mention=["in_app"], new_message=[])
    mine = anna.get("/v1/me/notification-preferences").json()
    assert mine["preferences"]["mention"] == ["in_app"] and mine["preferences"]["new_message"] == []
    assert mine["preferences"]["assigned"] == ["browser", "email", "in_app"]  # left out: the default
    assert {e["event"] for e in mine["events"]} >= {"sla_warning", "sla_breach", "task_assigned", "task_overdue"}
    assert boris.get("/v1/me/notification-preferences").json()["preferences"]["mention"] == [
        "browser", "email", "in_app"]
    bad = anna.http.put("/v1/me/notification-preferences", json={"preferences": {"mention": ["pager"]}})
    assert bad.status_code == 400 and bad.json()["code"] == "bad_request"
    assert anna.get("/v1/me/notification-preferences").json()["preferences"]["mention"] == ["in_app"]
