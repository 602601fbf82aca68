"""Conversation settings through the API on the local stack: title, priority, tags, participants, request types,
pending, reopen within N days, and automated messages held while an operator handles the conversation."""

from __future__ import annotations

import itertools

import pytest

from tests.integration.helpers import TelegramCustomer, conversation_of, eventually

_chat_ids = itertools.count(881_000_001)


@pytest.fixture
def customer(stack, request):
    return TelegramCustomer(stack, next(_chat_ids), first_name=f"Settings {request.node.name[-40:]}")


def opened(operator, customer):
    return eventually(lambda: conversation_of(operator, customer.first_name))


def activity(operator, conversation_id) -> list[str]:
    items = operator.conversation(conversation_id)["messages"]["items"]
    return [m["text"] for m in items if m["type"] == "activity"]


def test_title_priority_and_request_type_change_with_an_activity_line(anna, customer):
    customer.says("my order never came")
    row = opened(anna, customer)
    answer = anna.http.patch(f"/v1/conversations/{row['id']}",
                             json={"title": "Order 1042 missing", "priority": "high", "request_type": "refund",
                                   "version": row["version"]})
    assert answer.status_code == 200, answer.text
    changed = answer.json()
    assert (changed["title"], changed["priority"], changed["request_type"]) == ("Order 1042 missing", "high",
                                                                               "Refund")
    assert ("Anna Support renamed this to “Order 1042 missing”; set priority to high; set request type to Refund"
            in activity(anna, row["id"]))
    stale = anna.http.patch(f"/v1/conversations/{row['id']}", json={"priority": "low", "version": row["version"]})
    assert stale.status_code == 409 and stale.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("body, status, words", [
    ({"priority": "critical"}, 400, "Unknown priority"),
    ({"request_type": "Complaint"}, 400, "choose from: Support, Refund"),
    ({"status": "open"}, 400, "Unknown field 'status'"),
    ({"priority": "low", "version": "7"}, 400, "version must be an integer"),
])
def test_bad_settings_are_refused_with_the_reason(anna, customer, body, status, words):
    customer.says("hello")
    row = opened(anna, customer)
    answer = anna.http.patch(f"/v1/conversations/{row['id']}", json=body)
    assert answer.status_code == status and words in answer.json()["detail"]


def test_tags_join_the_catalogue_and_can_be_removed_even_when_resolved(anna, customer):
    customer.says("refund please")
    row = opened(anna, customer)
    tagged = anna.post(f"/v1/conversations/{row['id']}/tags", {"tag": "Refund Request"})
    assert tagged.status_code == 200 and tagged.json()["tags"] == ["refund request"]
    assert "refund request" in anna.get("/v1/tags", q="refund").json()["items"]
    anna.post(f"/v1/conversations/{row['id']}/resolve")
    assert anna.post(f"/v1/conversations/{row['id']}/tags", {"tag": "done"}).json()["tags"] == [
        "refund request", "done"]
    removed = anna.http.delete(f"/v1/conversations/{row['id']}/tags/refund%20request")
    assert removed.status_code == 200 and removed.json()["tags"] == ["done"]
    assert "refund request" in anna.get("/v1/tags").json()["items"]  # tags are never deleted
    refused = anna.http.patch(f"/v1/conversations/{row['id']}", json={"priority": "urgent"})
    assert refused.status_code == 409 and "reopen it first" in refused.json()["detail"]
    assert anna.post(f"/v1/conversations/{row['id']}/tags", {"tag": "#x"}).status_code == 400


def test_a_participant_from_another_team_follows_the_conversation(anna, boris, customer):
    customer.says("I need billing and support")
    row = opened(anna, customer)
    assert boris.get(f"/v1/conversations/{row['id']}").status_code == 404
    added = anna.post(f"/v1/conversations/{row['id']}/participants", {"operator_id": boris.id})
    assert added.status_code == 200 and added.json()["participants"] == [boris.id]
    assert boris.get(f"/v1/conversations/{row['id']}").status_code == 200
    assert "Anna Support added Boris Billing" in activity(anna, row["id"])
    assert boris.http.delete(f"/v1/conversations/{row['id']}/participants/{boris.id}").status_code == 200
    assert boris.get(f"/v1/conversations/{row['id']}").status_code == 404
    assert anna.post(f"/v1/conversations/{row['id']}/participants", {"operator_id": "nobody"}).status_code == 404


def test_dialog_settings_need_the_permission(anna, boris, customer):
    assert boris.get("/v1/dialog-settings").json()["request_types"] == ["Support", "Refund"]
    refused = boris.http.put("/v1/dialog-settings/reasons", json={"values": ["Late delivery"]})
    assert refused.status_code == 403 and "can edit dialog settings" in refused.json()["detail"]
    allowed = anna.http.put("/v1/dialog-settings/reasons", json={"values": ["Late delivery", "Damaged"]})
    assert allowed.status_code == 200 and allowed.json()["reasons"] == ["Late delivery", "Damaged"]
    assert anna.http.put("/v1/dialog-settings/colours", json={"values": []}).status_code == 400
    customer.says("it arrived broken")
    row = opened(anna, customer)
    answer = anna.http.patch(f"/v1/conversations/{row['id']}", json={"reasons": ["damaged"]})
    assert answer.status_code == 200 and answer.json()["reasons"] == ["Damaged"]


def test_a_reply_may_leave_the_conversation_pending_until_the_customer_answers(anna, customer):
    customer.says("what sizes do you have?")
    row = opened(anna, customer)
    reply = anna.post(f"/v1/conversations/{row['id']}/messages", {"text": "Which colour?", "then": "pending"})
    assert reply.status_code == 201
    assert anna.conversation(row["id"])["conversation"]["status"] == "pending"
    customer.says("blue")
    eventually(lambda: anna.conversation(row["id"])["conversation"]["status"] == "open")
    assert anna.post(f"/v1/conversations/{row['id']}/messages", {"text": "x", "then": "closed"}).status_code == 400
    assert anna.post(f"/v1/conversations/{row['id']}/pending").json()["status"] == "pending"


def test_an_inbox_set_to_reopen_continues_the_last_conversation(stack, anna, owner, customer):
    inbox_id = customer.inbox["id"]
    assert anna.http.patch(f"/v1/inboxes/{inbox_id}", json={"reopen_within_days": 2}).status_code == 403
    assert owner.http.patch(f"/v1/inboxes/{inbox_id}", json={"reopen_within_days": 365}).status_code == 400
    try:
        answer = owner.http.patch(f"/v1/inboxes/{inbox_id}", json={"reopen_within_days": 2})
        assert answer.status_code == 200 and answer.json()["reopen_within_days"] == 2
        customer.says("first question")
        row = opened(anna, customer)
        anna.post(f"/v1/conversations/{row['id']}/resolve")
        customer.says("and a follow-up")
        eventually(lambda: anna.conversation(row["id"])["conversation"]["status"] == "open")
        assert [c["id"] for c in anna.conversations(status="open") if c["contact"]["name"] == customer.first_name] \
            == [row["id"]]
    finally:
        owner.http.patch(f"/v1/inboxes/{inbox_id}", json={"reopen_within_days": None})
    listed = {i["id"]: i for i in anna.get("/v1/inboxes").json()["items"]}
    assert listed[inbox_id]["reopen_within_days"] is None


def test_a_bot_message_is_sent_unless_an_operator_handles_the_conversation(stack, anna, owner, customer, wait_idle):
    key = owner.post("/v1/api-keys", {"name": "FAQ bot", "scopes": ["messages:write"]}).json()["key"]
    customer.says("do you ship abroad?")
    row = opened(anna, customer)
    bot = {"Authorization": f"Bearer {key}"}
    url = f"/v1/conversations/{row['id']}/automated-messages"
    sent = anna.http.post(url, json={"text": "Yes, to 40 countries."}, headers=bot)
    assert sent.status_code == 202 and sent.json()["held"] is False
    wait_idle()
    assert "Yes, to 40 countries." in customer.replies_received()
    anna.post(f"/v1/conversations/{row['id']}/assign", {"assignee_id": anna.id})
    held = anna.http.post(url, json={"text": "Anything else?"}, headers=bot)
    assert held.status_code == 202 and held.json()["held"] is True
    wait_idle()
    assert "Anything else?" not in customer.replies_received()
    notes = [m["text"] for m in anna.conversation(row["id"])["messages"]["items"] if m["type"] == "note"]
    assert any("Anything else?" in note for note in notes)
    assert anna.http.post(url, json={"text": "x"}, headers={"Authorization": "Bearer nope"}).status_code == 401
