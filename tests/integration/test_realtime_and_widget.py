"""Live updates reach only entitled operators; the widget visitor writes over HTTPS and reads replies live."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from switchboard.domain import clock
from tests.integration.helpers import (
    TelegramCustomer,
    conversation_of,
    demo_inbox,
    demo_operator,
    eventually,
    frames,
)


def frames_until(socket, predicate, timeout: float = 10.0) -> list[dict]:
    received, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            frame = json.loads(socket.recv(timeout=deadline - time.monotonic()))
        except TimeoutError:
            break
        received.append(frame)
        if predicate(frame):
            return received
    raise AssertionError(f"no matching frame in {timeout} s; got {[f.get('type') for f in received]}")


def test_a_new_message_reaches_entitled_operators_live_and_no_one_else(stack, wait_idle):
    anna, boris = demo_operator(stack, "anna@acme.example"), demo_operator(stack, "boris@acme.example")
    wait_idle()
    with connect(f"{stack.urls['ws']}?token={anna.token}") as anna_socket, \
            connect(f"{stack.urls['ws']}?token={boris.token}") as boris_socket:
        customer = TelegramCustomer(stack, 660_000_001, first_name="Live Lena")
        customer.says("Is anyone there?")
        # The two tables stream separately, so the two events may arrive in either order.
        got = frames_until(anna_socket, lambda f: f["type"] == "message.created"
                           and f["message"]["text"] == "Is anyone there?")
        if not [f for f in got if f["type"] == "conversation.created"]:
            got += frames_until(anna_socket, lambda f: f["type"] == "conversation.created")
        created = [f for f in got if f["type"] == "conversation.created"]
        assert created[-1]["conversation"]["contact"]["name"] == "Live Lena"
        wait_idle()
        assert not [f for f in frames(boris_socket, 0.5) if "Lena" in json.dumps(f)]


def test_a_reply_status_change_arrives_as_message_updated(stack, wait_idle):
    anna = demo_operator(stack, "anna@acme.example")
    customer = TelegramCustomer(stack, 660_000_002, first_name="Live Leo")
    customer.says("ping")
    row = eventually(lambda: conversation_of(anna, "Live Leo"))
    wait_idle()
    with connect(f"{stack.urls['ws']}?token={anna.token}") as socket:
        reply = anna.post(f"/v1/conversations/{row['id']}/messages", {"text": "pong"}).json()
        got = frames_until(socket, lambda f: f["type"] == "message.updated" and f["message"]["id"] == reply["id"]
                           and f["message"]["status"] == "sent")
    # The first reply made Anna the assignee, and the live row says so by name, like the list does
    updates = [f for f in got if f["type"] == "conversation.updated" and "assignee_id" in f["changed"]]
    assert updates[0]["conversation"]["assignee_name"] == "Anna Support"
    assert updates[0]["conversation"]["team_name"] == "Support"


def test_a_socket_without_a_valid_token_is_refused(stack):
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{stack.urls['ws']}?token=forged")
    assert refused.value.response.status_code == 401


def test_ping_keeps_the_socket_alive(stack):
    anna = demo_operator(stack, "anna@acme.example")
    with connect(f"{stack.urls['ws']}?token={anna.token}") as socket:
        socket.send(json.dumps({"action": "ping"}))
        assert frames_until(socket, lambda f: f["type"] == "pong")


class Visitor:
    """A website visitor using the widget's HTTP API and socket."""

    def __init__(self, stack) -> None:
        self.stack, self.inbox = stack, demo_inbox(stack, "widget")
        self.url = f"{stack.urls['webhooks']}/widget/{self.inbox['id']}"
        session = httpx.post(self.url, json={"type": "session"}).json()
        self.visitor_id, self.token = session["visitor_id"], session["visitor_token"]

    def says(self, text: str, client_id: str | None = None, **profile) -> httpx.Response:
        return httpx.post(self.url, json={"type": "message", "visitor_id": self.visitor_id,
                                          "visitor_token": self.token, "client_id": client_id or uuid.uuid4().hex,
                                          "text": text, **profile})

    def history(self) -> list[dict]:
        answer = httpx.get(self.url, params={"visitor_id": self.visitor_id, "visitor_token": self.token})
        assert answer.status_code == 200, answer.text
        return answer.json()["messages"]

    def socket(self):
        return connect(f"{self.stack.urls['ws']}?inbox_id={self.inbox['id']}&visitor_id={self.visitor_id}"
                       f"&visitor_token={self.token}")


def test_a_widget_visitor_writes_and_receives_the_reply_on_the_socket(stack):
    visitor = Visitor(stack)
    assert visitor.says("Do you ship to Norway?", client_id="c-1", name="Nora Visitor",
                        page_url="https://acme.example/shipping").status_code == 200
    assert visitor.says("Do you ship to Norway?", client_id="c-1").status_code == 200  # a retry
    anna = demo_operator(stack, "anna@acme.example")
    row = eventually(lambda: conversation_of(anna, "Nora Visitor"))
    assert row["channel"] == "widget"
    with visitor.socket() as socket:
        anna.post(f"/v1/conversations/{row['id']}/messages", {"text": "Yes, in 3 days."})
        frame = frames_until(socket, lambda f: f["type"] == "message.created")[-1]
        assert frame["message"] == {**frame["message"], "direction": "out", "text": "Yes, in 3 days."}
    assert [(m["direction"], m["text"]) for m in visitor.history()] == [
        ("in", "Do you ship to Norway?"), ("out", "Yes, in 3 days.")]


def test_a_forged_visitor_token_is_refused(stack):
    visitor = Visitor(stack)
    visitor.token = "0" * 64
    assert visitor.says("let me read someone else's chat").status_code == 401
    assert httpx.get(visitor.url, params={"visitor_id": visitor.visitor_id, "visitor_token": visitor.token}
                     ).status_code == 401
    with pytest.raises(InvalidStatus):
        visitor.socket()


def test_a_reconnecting_client_catches_up_on_everything_it_missed_in_order(stack, wait_idle):
    anna = demo_operator(stack, "anna@acme.example")
    customer = TelegramCustomer(stack, 660_000_042, first_name="Catch-up Cleo")
    # Given Anna's socket saw an event and remembers its seq
    with connect(f"{stack.urls['ws']}?token={anna.token}") as socket:
        customer.says("first, while Anna is online")
        seen = frames_until(socket, lambda f: f["type"] == "message.created"
                            and f["message"]["text"] == "first, while Anna is online")
    last_seq = seen[-1]["seq"]
    # When things happen while she is away (her laptop sleeps)
    customer.says("second, while Anna is away")
    customer.says("third, while Anna is away")
    wait_idle()
    # Then on reconnect she asks for what she missed and receives it, in order, then a summary
    with connect(f"{stack.urls['ws']}?token={anna.token}") as socket:
        socket.send(json.dumps({"action": "catch_up", "since": last_seq}))
        missed = frames_until(socket, lambda f: f["type"] == "caught_up")
    summary, events = missed[-1], missed[:-1]
    assert summary["complete"] is True and summary["count"] == len(events)
    texts = [e["message"]["text"] for e in events if e["type"] == "message.created"]
    assert texts == ["second, while Anna is away", "third, while Anna is away"]
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    assert all(e["seq"] > last_seq for e in events)


def test_catch_up_never_shows_what_the_operator_may_not_see(stack, wait_idle):
    boris = demo_operator(stack, "boris@acme.example")  # Billing only
    with connect(f"{stack.urls['ws']}?token={boris.token}") as socket:
        socket.send(json.dumps({"action": "ping"}))
        frames_until(socket, lambda f: f["type"] == "pong")
    since = "2020-01-01T00:00:00.000Z#0"  # older than the feed keeps
    customer = TelegramCustomer(stack, 660_000_043, first_name="Support-only Sam")
    customer.says("for the Support team only")
    wait_idle()
    recent = clock.iso(clock.now() - timedelta(minutes=5)) + "#0"
    with connect(f"{stack.urls['ws']}?token={boris.token}") as socket:
        socket.send(json.dumps({"action": "catch_up", "since": since}))
        assert frames_until(socket, lambda f: f["type"] == "caught_up")[-1]["complete"] is False
        socket.send(json.dumps({"action": "catch_up", "since": recent}))
        got = frames_until(socket, lambda f: f["type"] == "caught_up")
    assert not [f for f in got if "Support-only Sam" in json.dumps(f)]


def test_typing_shows_to_colleagues_who_may_see_the_conversation_and_no_one_else(stack, wait_idle):
    anna, owner = demo_operator(stack, "anna@acme.example"), demo_operator(stack, "owner@acme.example")
    boris = demo_operator(stack, "boris@acme.example")  # Billing only: the conversation is Support's
    customer = TelegramCustomer(stack, 660_000_077, first_name="Typing Tess")
    customer.says("hello?")
    row = eventually(lambda: conversation_of(anna, "Typing Tess"))
    wait_idle()
    with connect(f"{stack.urls['ws']}?token={anna.token}") as anna_socket, \
            connect(f"{stack.urls['ws']}?token={owner.token}") as owner_socket, \
            connect(f"{stack.urls['ws']}?token={boris.token}") as boris_socket:
        anna_socket.send(json.dumps({"action": "typing", "conversation_id": row["id"]}))
        seen = frames_until(owner_socket, lambda f: f["type"] == "typing")[-1]
        assert (seen["conversation_id"], seen["operator_name"]) == (row["id"], "Anna Support")
        assert not [f for f in frames(boris_socket, 0.5) if f["type"] == "typing"]
        assert not [f for f in frames(anna_socket, 0.3) if f["type"] == "typing"]  # not echoed to herself
        boris_socket.send(json.dumps({"action": "viewing", "conversation_id": row["id"]}))
        assert frames_until(boris_socket, lambda f: f["type"] == "error")[-1]["detail"] == "No such conversation."
