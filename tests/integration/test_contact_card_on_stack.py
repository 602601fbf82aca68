"""The contact card on the local stack: edit, search, notes, the timeline with a tenant's events, access, bad input,
and blocking ("hide chat") — the message is kept, nothing opens, no socket hears of it, the widget hides."""

from __future__ import annotations

import itertools
import json
import uuid

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.integration.helpers import (
    TelegramCustomer,
    conversation_of,
    demo_inbox,
    demo_operator,
    eventually,
    frames,
)

_chat_ids = itertools.count(990_000_001)


@pytest.fixture
def customer(stack, request):
    """A Telegram customer with a name of their own, so searches and lists find only them."""
    word = uuid.uuid4().hex[:8]
    return TelegramCustomer(stack, next(_chat_ids), first_name=f"Cardtest{word} {request.node.name[5:25]}")


def contact_id_of(operator, customer) -> str:
    customer.says("Hello, is this the shop?")
    row = eventually(lambda: conversation_of(operator, customer.first_name))
    return row["contact"]["id"]


def patch(operator, path: str, body) -> httpx.Response:
    return operator.http.patch(path, json=body)


def api_key(owner, scopes: list[str]) -> dict[str, str]:
    answer = owner.post("/v1/api-keys", {"name": f"CRM {uuid.uuid4().hex[:6]}", "scopes": scopes})
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['key']}"}


# ------------------------------------------------------------------ edit and search
def test_an_operator_edits_the_card_and_finds_the_contact_by_name_phone_and_email(stack, anna, customer):
    contact_id = contact_id_of(anna, customer)
    marker = customer.first_name.split()[0][len("Cardtest"):]
    answer = patch(anna, f"/v1/contacts/{contact_id}", {
        "name": f"Quentin Zed{marker}", "email": f"Q.{marker}@Example.ORG", "phone": "+44 (20) 7946-0958",
        "language": "en", "attributes": {"plan": "gold", "customer_id": "C-77", "seats": 5}, "tags": ["VIP"]})
    assert answer.status_code == 200, answer.text
    card = answer.json()
    assert (card["name"], card["email"], card["phone"]) == (f"Quentin Zed{marker}", f"q.{marker}@example.org",
                                                             "+442079460958")
    assert card["attributes"] == {"plan": "gold", "customer_id": "C-77", "seats": 5} and card["tags"] == ["vip"]
    assert [i["channel"] for i in card["identities"]] == ["telegram"]
    # The conversation list shows the new name
    eventually(lambda: conversation_of(anna, f"Quentin Zed{marker}"))

    def found(q: str) -> list[str]:
        answer = anna.get("/v1/contacts", q=q)
        assert answer.status_code == 200, answer.text
        return [row["id"] for row in answer.json()["items"]]

    assert contact_id in found(f"ZED{marker}")  # a later word, any case
    assert found(f"quentin zed{marker[:4]}") == [contact_id]
    assert contact_id in found("442079460958") and contact_id in found("+44 20 7946 0958")
    assert found(f"q.{marker}@EXAMPLE.org") == [contact_id]
    assert contact_id not in found(customer.first_name.split()[0])  # the old name no longer finds it
    # Notes about the person stay on the card
    note = anna.post(f"/v1/contacts/{contact_id}/notes", {"text": "Prefers calls after 5pm"})
    assert note.status_code == 201 and note.json()["author_name"] == "Anna Support"
    assert [n["text"] for n in anna.get(f"/v1/contacts/{contact_id}").json()["notes"]] == ["Prefers calls after 5pm"]


def test_search_pages_with_a_cursor(stack, anna):
    word = f"Pager{uuid.uuid4().hex[:6]}"
    for n in range(3):
        TelegramCustomer(stack, next(_chat_ids), first_name=f"{word} {n}").says("hi")
    eventually(lambda: len([r for r in anna.conversations() if (r["contact"]["name"] or "").startswith(word)]) == 3)
    names, cursor = [], None
    for _ in range(5):
        page = anna.get("/v1/contacts", q=word.lower(), limit=1, **({"cursor": cursor} if cursor else {})).json()
        names += [row["name"] for row in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(names) == [f"{word} 0", f"{word} 1", f"{word} 2"]


# ------------------------------------------------------------------ access and bad input
def test_a_contact_the_operator_cannot_see_is_not_found(stack, anna, customer):
    contact_id = contact_id_of(anna, customer)
    boris = demo_operator(stack, "boris@acme.example")  # Billing; the conversation is Support's
    sofia = demo_operator(stack, "sofia@acme.example")  # a supervisor sees every contact
    assert sofia.get(f"/v1/contacts/{contact_id}").status_code == 200
    for answer in (boris.get(f"/v1/contacts/{contact_id}"), boris.get(f"/v1/contacts/{contact_id}/timeline"),
                   patch(boris, f"/v1/contacts/{contact_id}", {"name": "Mallory"}),
                   boris.post(f"/v1/contacts/{contact_id}/block"),
                   boris.post(f"/v1/contacts/{contact_id}/notes", {"text": "peek"})):
        assert answer.status_code == 404 and answer.json()["code"] == "not_found"
    assert boris.get("/v1/contacts", q=customer.first_name.split()[0]).json()["items"] == []
    assert anna.get(f"/v1/contacts/{contact_id}").json()["name"] == customer.first_name


@pytest.mark.parametrize(("body", "says"), [
    ({"email": "not-an-address"}, "is not an e-mail address"),
    ({"phone": "call me maybe"}, "is not a phone number"),
    ({"nickname": "Q"}, "Unknown field(s): nickname"),
    ({"attributes": {"plan": ["gold"]}}, "must be text, a number, true/false"),
    ({"attributes": {"9lives": 1}}, "is not an attribute name"),
    ({"tags": [f"t{n}" for n in range(25)]}, "at most 20 tags"),
    ({}, "Nothing to change"),
])
def test_a_bad_edit_is_400_with_a_clear_message_and_changes_nothing(stack, anna, customer, body, says):
    contact_id = contact_id_of(anna, customer)
    answer = patch(anna, f"/v1/contacts/{contact_id}", body)
    assert answer.status_code == 400 and answer.headers["content-type"] == "application/problem+json"
    assert says in answer.json()["detail"]
    assert anna.get(f"/v1/contacts/{contact_id}").json()["name"] == customer.first_name


def test_other_bad_requests_say_what_is_wrong(stack, anna, owner, customer):
    contact_id = contact_id_of(anna, customer)
    not_json = anna.http.patch(f"/v1/contacts/{contact_id}", content=b"name=x",
                               headers={"Content-Type": "text/plain"})
    assert not_json.status_code == 415
    assert anna.get("/v1/contacts").status_code == 400  # no q
    assert anna.get("/v1/contacts", q="ab", limit=500).status_code == 400
    assert anna.get(f"/v1/contacts/{contact_id}/timeline", cursor="not-a-cursor").status_code == 400
    assert anna.post(f"/v1/contacts/{contact_id}/notes", {"text": "  "}).status_code == 400
    events = f"{stack.urls['api']}/v1/contacts/{contact_id}/events"
    assert httpx.post(events, json={"type": "page_view"}).status_code == 401  # no API key
    messages_only = api_key(owner, ["messages:write"])
    assert httpx.post(events, json={"type": "page_view"}, headers=messages_only).status_code == 403
    writer = api_key(owner, ["contacts:write"])
    bad = httpx.post(events, json={"type": "page_view", "at": "2020-01-01T00:00:00"}, headers=writer)
    assert bad.status_code == 400 and "time zone" in bad.json()["detail"]
    unknown = httpx.post(f"{stack.urls['api']}/v1/contacts/01NOSUCHCONTACT00000000000/events",
                         json={"type": "page_view"}, headers=writer)
    assert unknown.status_code == 404


# ------------------------------------------------------------------ timeline
def test_the_timeline_shows_messages_status_changes_and_api_events_newest_first(stack, anna, owner, customer):
    contact_id = contact_id_of(anna, customer)
    row = conversation_of(anna, customer.first_name)
    writer = api_key(owner, ["contacts:write"])
    events = f"{stack.urls['api']}/v1/contacts/{contact_id}/events"
    view = {"id": f"pv-{uuid.uuid4().hex}", "type": "page_view", "url": "https://acme.example/pricing",
            "title": "Pricing"}
    first, again = httpx.post(events, json=view, headers=writer), httpx.post(events, json=view, headers=writer)
    assert first.status_code == again.status_code == 201
    assert first.json()["duplicate"] is False and again.json() == {**first.json(), "duplicate": True}
    assert anna.post(f"/v1/conversations/{row['id']}/resolve").status_code == 200
    assert httpx.post(events, json={"type": "order.paid", "data": {"total": 42}}, headers=writer).status_code == 201
    items = anna.get(f"/v1/contacts/{contact_id}/timeline").json()["items"]
    described = [e["event"]["type"] if e["kind"] == "event" else e["message"]["type"] for e in items]
    assert described == ["order.paid", "activity", "page_view", "incoming"]
    assert items[2]["event"]["url"] == "https://acme.example/pricing"
    assert items[1]["message"]["text"] == "Anna Support resolved this"
    # Paged with a cursor, the pages together are the whole timeline
    ids, cursor = [], None
    for _ in range(6):
        page = anna.get(f"/v1/contacts/{contact_id}/timeline", limit=1, **({"cursor": cursor} if cursor else {}))
        ids += [e["id"] for e in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    assert ids == [e["id"] for e in items]


# ------------------------------------------------------------------ block
def test_a_blocked_contact_is_kept_silent_everywhere_until_unblocked(stack, anna, owner, customer, wait_idle):
    contact_id = contact_id_of(anna, customer)
    row = conversation_of(anna, customer.first_name)
    anna.post(f"/v1/conversations/{row['id']}/resolve")
    blocked = owner.post(f"/v1/contacts/{contact_id}/block")
    assert blocked.status_code == 200 and blocked.json()["blocked"] is True
    wait_idle()
    with connect(f"{stack.urls['ws']}?token={anna.token}") as anna_socket, \
            connect(f"{stack.urls['ws']}?token={owner.token}") as owner_socket:
        # When the blocked customer writes while Anna and the owner are online
        customer.says("Why is nobody answering me?")
        wait_idle()
        heard = frames(anna_socket, 1.0) + frames(owner_socket, 0.5)
        # Then nobody was told, no conversation opened, and the message is in the card's timeline
        assert not [frame for frame in heard if customer.first_name in json.dumps(frame)
                    or "Why is nobody answering me?" in json.dumps(frame)]
        assert conversation_of(owner, customer.first_name, status="open") is None
        timeline = anna.get(f"/v1/contacts/{contact_id}/timeline").json()["items"]
        [kept] = [e for e in timeline if e["kind"] == "message" and e["hidden"]]
        assert kept["message"]["text"] == "Why is nobody answering me?" and kept["conversation_id"] is None
        assert "contact.blocked" in [e["event"]["type"] for e in timeline if e["kind"] == "event"]
        # When the owner unblocks, the next message opens a conversation as usual, and Anna hears of it live
        assert owner.post(f"/v1/contacts/{contact_id}/unblock").json()["blocked"] is False
        customer.says("Hello again")
        wait_idle()
        live = [frame for frame in frames(anna_socket, 1.0) if frame.get("type") == "message.created"]
        assert "Hello again" in [frame["message"]["text"] for frame in live]
    reopened = eventually(lambda: conversation_of(anna, customer.first_name, status="open"))
    assert reopened["id"] != row["id"] and reopened["last_message"]["text"] == "Hello again"


class Visitor:
    """A website visitor using the widget's HTTP API and socket."""

    def __init__(self, stack) -> None:
        self.stack, self.inbox = stack, demo_inbox(stack, "widget")
        self.url = f"{stack.urls['webhooks']}/widget/{self.inbox['id']}"
        session = httpx.post(self.url, json={"type": "session"}).json()
        self.visitor_id, self.token = session["visitor_id"], session["visitor_token"]

    def says(self, text: str, **profile) -> httpx.Response:
        return httpx.post(self.url, json={"type": "message", "visitor_id": self.visitor_id,
                                          "visitor_token": self.token, "client_id": uuid.uuid4().hex, "text": text,
                                          **profile})

    def config(self) -> dict:
        answer = httpx.get(self.url, params={"visitor_id": self.visitor_id, "visitor_token": self.token})
        assert answer.status_code == 200, answer.text
        return answer.json()

    def socket(self):
        return connect(f"{self.stack.urls['ws']}?inbox_id={self.inbox['id']}&visitor_id={self.visitor_id}"
                       f"&visitor_token={self.token}")


def test_the_widget_hides_itself_for_a_blocked_visitor(stack, anna, owner):
    visitor = Visitor(stack)
    name = f"Widget Wanda {uuid.uuid4().hex[:6]}"
    assert visitor.says("Hi from your site", name=name).status_code == 200
    contact_id = eventually(lambda: conversation_of(anna, name))["contact"]["id"]
    with visitor.socket():
        pass  # not blocked yet: the socket opens
    assert owner.post(f"/v1/contacts/{contact_id}/block").status_code == 200
    assert visitor.config() == {"messages": [], "hidden": True}
    with pytest.raises(InvalidStatus) as refused:
        visitor.socket()
    assert refused.value.response.status_code == 403
    kept = visitor.says("still there?")
    assert kept.status_code == 200 and kept.json()["hidden"] is True
    assert "still there?" in [e["message"]["text"] for e in anna.get(f"/v1/contacts/{contact_id}/timeline").json()[
        "items"] if e["kind"] == "message"]
    owner.post(f"/v1/contacts/{contact_id}/unblock")
    assert "hidden" not in visitor.config() and visitor.config()["messages"][0]["text"] == "Hi from your site"
    with visitor.socket():
        pass
