"""The whole path on the local stack: a Telegram customer writes, operators see it, reply, snooze and resolve."""

from __future__ import annotations

import itertools
import time

import httpx
import pytest

from tests.integration.helpers import TelegramCustomer, conversation_of, demo_operator, eventually

_chat_ids = itertools.count(880_000_001)


@pytest.fixture
def anna(stack):
    return demo_operator(stack, "anna@acme.example")


@pytest.fixture
def customer(stack, request):
    name = f"Customer {request.node.name[-40:]}"
    return TelegramCustomer(stack, next(_chat_ids), first_name=name)


def opened(anna, customer, **filters):
    return eventually(lambda: conversation_of(anna, customer.first_name, **filters))


def test_an_operator_answers_a_telegram_customer_and_the_reply_is_sent(stack, anna, customer, wait_idle):
    # Given a customer who writes to the bot
    customer.says("Hi! Where is my order #A-1?")
    row = opened(anna, customer, status="open", assignee="mine_or_unassigned")
    assert row["unread_count"] == 1 and row["assignee_id"] is None
    # When Anna reads the conversation and replies
    history = anna.conversation(row["id"])["messages"]["items"]
    assert [m["text"] for m in history] == ["Hi! Where is my order #A-1?"]
    reply = anna.post(f"/v1/conversations/{row['id']}/messages", {"text": "It ships today.", "client_id": "r-1"})
    assert reply.status_code == 201 and reply.json()["status"] == "pending"
    # Then the bot sends it through the Bot API, and the message is marked sent
    eventually(lambda: "It ships today." in customer.replies_received())
    wait_idle()
    sent = eventually(lambda: [m for m in anna.conversation(row["id"])["messages"]["items"]
                               if m["id"] == reply.json()["id"] and m["status"] == "sent"])
    assert sent[0]["external_id"].startswith(f"{customer.chat_id}:")
    # And the first to answer now owns the conversation, with nothing unread
    mine = conversation_of(anna, customer.first_name, assignee="me")
    assert mine["assignee_id"] == anna.id and mine["unread_count"] == 0


def test_a_retried_reply_is_stored_once(anna, customer):
    customer.says("hello")
    row = opened(anna, customer)
    first = anna.post(f"/v1/conversations/{row['id']}/messages", {"text": "Once", "client_id": "same-id"})
    again = anna.post(f"/v1/conversations/{row['id']}/messages", {"text": "Once", "client_id": "same-id"})
    assert first.json()["id"] == again.json()["id"]
    texts = [m["text"] for m in anna.conversation(row["id"])["messages"]["items"]]
    assert texts.count("Once") == 1


def test_a_platform_error_marks_the_reply_failed_with_the_reason(stack, anna, customer, wait_idle):
    customer.says("Are you there?")
    row = opened(anna, customer)
    wait_idle()  # earlier tests' replies must not take the failure meant for this one
    httpx.post(f"{stack.urls['gateway']}/sim/api/telegram/fail-next",
               json={"error_code": 403, "description": "Forbidden: bot was blocked by the user"})
    reply = anna.post(f"/v1/conversations/{row['id']}/messages", {"text": "Yes!"}).json()
    failed = eventually(lambda: [m for m in anna.conversation(row["id"])["messages"]["items"]
                                 if m["id"] == reply["id"] and m["status"] == "failed"])
    assert "blocked" in failed[0]["failure_reason"]


def test_a_note_never_reaches_the_customer(stack, anna, customer, wait_idle):
    customer.says("I need a refund")
    row = opened(anna, customer)
    note = anna.post(f"/v1/conversations/{row['id']}/notes", {"text": "Check the invoice first"})
    assert note.status_code == 201 and note.json()["type"] == "note"
    wait_idle()
    assert "Check the invoice first" not in customer.replies_received()


def test_snooze_leaves_the_open_list_and_wakes_by_itself(anna, customer):
    customer.says("Call me back in a bit")
    row = opened(anna, customer)
    snoozed = anna.post(f"/v1/conversations/{row['id']}/snooze", {"seconds": 2})
    assert snoozed.status_code == 200 and snoozed.json()["status"] == "snoozed"
    eventually(lambda: conversation_of(anna, customer.first_name, status="snoozed"))  # lists follow the stream
    assert conversation_of(anna, customer.first_name, status="open") is None
    # The Step Functions execution wakes it: back in the open list without anyone touching it
    woken = eventually(lambda: conversation_of(anna, customer.first_name, status="open"), timeout=15)
    assert woken["snoozed_until"] is None


def test_a_customer_reply_wakes_a_snooze_at_once_and_the_old_timer_changes_nothing(anna, customer):
    customer.says("first")
    row = opened(anna, customer)
    snoozed = anna.post(f"/v1/conversations/{row['id']}/snooze", {"seconds": 3}).json()
    customer.says("actually, one more thing")
    woken = eventually(lambda: conversation_of(anna, customer.first_name, status="open"), timeout=5)
    version_after_wake = anna.conversation(row["id"])["conversation"]["version"]
    time.sleep(4)  # past the original wake-up time: the stale timer must find nothing to do
    after = anna.conversation(row["id"])["conversation"]
    assert woken["status"] == after["status"] == "open"
    assert after["version"] == version_after_wake
    assert snoozed["snoozed_until"] and after["snoozed_until"] is None


def test_resolve_then_a_new_message_opens_a_new_conversation(anna, customer):
    customer.says("thanks, all good")
    first = opened(anna, customer)
    assert anna.post(f"/v1/conversations/{first['id']}/resolve").json()["status"] == "resolved"
    customer.says("oh, one more question")
    # The lists follow the stream: the new conversation takes the resolved one's place in the open list
    eventually(lambda: (row := conversation_of(anna, customer.first_name, status="open")) and row["id"] != first["id"])
    refused = anna.post(f"/v1/conversations/{first['id']}/reopen")
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"


def test_an_illegal_status_change_is_refused_with_the_reason(anna, customer):
    customer.says("bye")
    row = opened(anna, customer)
    anna.post(f"/v1/conversations/{row['id']}/resolve")
    refused = anna.post(f"/v1/conversations/{row['id']}/snooze", {"seconds": 60})
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["code"] == "illegal_transition" and "resolved" in problem["detail"]


def test_the_contact_card_shows_identity_and_conversations(anna, customer):
    customer.says("who am I?")
    row = opened(anna, customer)
    card = anna.get(f"/v1/contacts/{row['contact']['id']}").json()
    assert card["name"] == customer.first_name
    assert card["identities"][0]["source_id"] == str(customer.chat_id)
    assert [c["id"] for c in card["conversations"]] == [row["id"]]


def test_an_operator_outside_the_team_does_not_see_the_conversation(stack, anna, customer):
    customer.says("private matter")
    row = opened(anna, customer)
    boris = demo_operator(stack, "boris@acme.example")  # Billing only; the bot's inbox routes to Support
    assert conversation_of(boris, customer.first_name) is None
    assert boris.get(f"/v1/conversations/{row['id']}").status_code == 404


def test_unsnooze_returns_the_conversation_at_once_and_cancels_the_timer(anna, customer):
    customer.says("remind me later")
    row = opened(anna, customer)
    anna.post(f"/v1/conversations/{row['id']}/snooze", {"seconds": 2})
    back = anna.post(f"/v1/conversations/{row['id']}/unsnooze")
    assert back.status_code == 200 and back.json()["status"] == "open"
    version = back.json()["version"]
    time.sleep(3)  # past the cancelled wake-up
    assert anna.conversation(row["id"])["conversation"]["version"] == version
    assert anna.post(f"/v1/conversations/{row['id']}/unsnooze").status_code == 409


def test_assigning_with_a_stale_version_is_refused_so_only_one_of_two_operators_wins(stack, anna, customer):
    customer.says("who will help me?")
    row = opened(anna, customer)
    owner = demo_operator(stack, "owner@acme.example")
    seen = anna.conversation(row["id"])["conversation"]["version"]
    first = anna.post(f"/v1/conversations/{row['id']}/assign", {"assignee_id": anna.id, "version": seen})
    second = owner.post(f"/v1/conversations/{row['id']}/assign", {"assignee_id": owner.id, "version": seen})
    assert first.status_code == 200 and first.json()["assignee_name"] == "Anna Support"
    assert second.status_code == 409
    assert anna.conversation(row["id"])["conversation"]["assignee_id"] == anna.id
    activity = [m["text"] for m in anna.conversation(row["id"])["messages"]["items"] if m["type"] == "activity"]
    assert "Anna Support assigned this to Anna Support" in activity


def test_assigning_to_someone_unknown_is_404(anna, customer):
    customer.says("hello")
    row = opened(anna, customer)
    assert anna.post(f"/v1/conversations/{row['id']}/assign", {"assignee_id": "nobody-like-this"}).status_code == 404


def test_a_customers_file_is_fetched_after_the_message_and_served_by_a_presigned_link(stack, anna, customer):
    # Given a customer sends a PDF (the simulator's Bot API serves the file behind getFile)
    update = customer.update("")
    update["message"].pop("text")
    update["message"]["document"] = {"file_id": "BQACAgQAAxkBAAIB", "file_unique_id": "AgADBAAD",
                                     "file_name": "invoice.pdf", "mime_type": "application/pdf", "file_size": 64}
    assert customer.post(update).status_code == 200
    row = opened(anna, customer)
    # Then the operator gets a working link to the stored copy
    attachment = eventually(lambda: [a for m in anna.conversation(row["id"])["messages"]["items"]
                                     for a in m["attachments"] if a.get("url")])[0]
    assert attachment["name"] == "invoice.pdf" and attachment["mime"] == "application/pdf"
    download = httpx.get(attachment["url"])
    assert download.status_code == 200 and download.content.startswith(b"simulated file")


def test_an_operator_sends_a_file_through_an_upload_link(stack, anna, customer):
    customer.says("Can you send me the invoice?")
    row = opened(anna, customer)
    ticket = anna.post(f"/v1/conversations/{row['id']}/uploads",
                       {"name": "invoice 42.pdf", "mime": "application/pdf", "size": 13})
    assert ticket.status_code == 201, ticket.text
    upload = ticket.json()
    assert httpx.put(upload["upload_url"], content=b"%PDF-1.7 test", headers=upload["headers"]).status_code == 200
    reply = anna.post(f"/v1/conversations/{row['id']}/messages",
                      {"text": "Here it is.", "attachments": [upload["attachment"]]})
    assert reply.status_code == 201 and reply.json()["attachments"][0]["url"]
    # Then the bot sends the text and the document (by a link the platform downloads), and the reply is sent
    eventually(lambda: [call for call in stack.simulator.calls() if call["method"] == "sendDocument"
                        and str(call["payload"].get("chat_id")) == str(customer.chat_id)])
    eventually(lambda: [m for m in anna.conversation(row["id"])["messages"]["items"]
                        if m["id"] == reply.json()["id"] and m["status"] == "sent"])
    # A key from another conversation is refused
    forged = dict(upload["attachment"], key="someone-else/other-conversation/uploads/x.pdf")
    assert anna.post(f"/v1/conversations/{row['id']}/messages",
                     {"text": "x", "attachments": [forged]}).status_code == 400
    # And an upload over the channel's limit is refused before anything is stored
    too_big = anna.post(f"/v1/conversations/{row['id']}/uploads", {"name": "movie.mp4", "size": 10**10})
    assert too_big.status_code == 400


def test_a_saved_reply_is_found_by_shortcut_and_filled_for_the_conversation(anna, customer):
    customer.says("When does my order ship?")
    row = opened(anna, customer)
    created = anna.post("/v1/saved-replies", {"shortcut": f"ship-{customer.chat_id}",
                                              "text": "Hi {{contact.first_name}}, it ships today. {{operator.name}}"})
    assert created.status_code == 201
    found = anna.get("/v1/saved-replies", q=f"/ship-{customer.chat_id}").json()["items"]
    assert [r["id"] for r in found] == [created.json()["id"]]
    rendered = anna.get(f"/v1/conversations/{row['id']}/saved-replies/{created.json()['id']}").json()
    assert rendered["text"] == f"Hi {customer.first_name.split()[0]}, it ships today. Anna Support"
