"""Replays the shared webhook corpus (../shared/fixtures/channels, where it exists) through the running stack.

Each file must behave as its MANIFEST.md and cases.json say: the status code, and what is (or is not) stored.
The corpus is not part of the repository, so on a clone without it this module defines no tests.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from tests.integration.helpers import demo_operator, eventually

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "channels"
SUPPORTED = ("telegram",)


def _cases() -> list[tuple[str, dict]]:
    found = []
    for channel in SUPPORTED:
        index = CORPUS / channel / "cases.json"
        if index.is_file():
            found += [(channel, case) for case in json.loads(index.read_text())["cases"]
                      if (CORPUS / channel / case["file"]).is_file()]
    return found


CASES = _cases()


@pytest.fixture(scope="module")
def corpus_inbox(stack):
    """A Telegram inbox configured with the corpus's secret, as a tenant would connect an existing bot."""
    from switchboard.wiring import services

    provisioning = services().provisioning
    tenant = services().directory.tenant(stack.demo["tenant"]["id"])
    support = next(team for team in services().directory.teams(tenant.id) if team.name == "Support")
    inbox, credentials = provisioning.create_inbox(tenant, "telegram", "Corpus bot", default_team=support,
                                                   token="7012345678:corpus-token", webhook_secret="test-secret")
    stack.simulator.add_inbox({"id": inbox.id, "channel": "telegram", "name": inbox.name,
                               "webhook_secret": credentials.webhook_secret, "bot_token": credentials.token})
    return inbox


def post(stack, inbox, channel: str, case: dict, *, with_headers: bool = True) -> httpx.Response:
    headers = dict(case["request"]["headers"]) if with_headers else {"Content-Type": case["content_type"]}
    body = (CORPUS / channel / case["file"]).read_bytes()
    return httpx.post(f"{stack.urls['webhooks']}/{channel}/{inbox.id}", content=body, headers=headers, timeout=30)


def expected_status(case: dict) -> int:
    return int(re.search(r"\b(\d{3})\b", case["expect"]).group(1))


def stored(inbox, external_id: str):
    from switchboard.wiring import services

    found = services().messages.find_by_external_id(inbox.tenant_id, inbox.id, external_id)
    return services().messages.get(inbox.tenant_id, *found) if found else None


def check_message(inbox, case: dict) -> None:
    message = stored(inbox, case["ext_message_id"].split()[0])
    assert message is not None, f"{case['file']}: the message was not stored"
    assert message.text == (case["text"] or "")
    assert message.author_name == case["sender_name"].split(" (@")[0]
    assert message.created_at == case["timestamp"].replace("Z", ".000Z")
    if case["attachments"] == "none":
        assert message.attachments == []
        return
    assert len(message.attachments) == int(case["attachments"].split("×")[0])
    attachment = message.attachments[0]
    if unique := re.search(r"file_unique_id (\S+?)\)", case["attachments"]):
        assert attachment.meta["file_unique_id"] == unique.group(1)  # the largest size, not a thumbnail
    if document := re.search(r"name (\S+), (\S+/\S+), (\d+) B", case["attachments"]):
        assert (attachment.name, attachment.mime, attachment.size) == (
            document.group(1), document.group(2), int(document.group(3)))


def check_nothing_stored(stack, inbox, channel: str, case: dict) -> None:
    update = json.loads((CORPUS / channel / case["file"]).read_bytes())
    message = update.get("message") or {}
    if message:
        assert stored(inbox, f"{message['chat']['id']}:{message['message_id']}") is None


if CASES:

    @pytest.mark.parametrize(("channel", "case"), CASES, ids=[f"{ch}/{c['file']}" for ch, c in CASES])
    def test_the_corpus_behaves_as_its_manifest_says(stack, corpus_inbox, wait_idle, channel, case):
        answer = post(stack, corpus_inbox, channel, case)
        assert answer.status_code == expected_status(case), answer.text
        if case["request"].get("replay_without_header"):
            assert post(stack, corpus_inbox, channel, case, with_headers=False).status_code == expected_status(case)
        if answer.status_code >= 400:
            check_nothing_stored(stack, corpus_inbox, channel, case)
            return
        # Every accepted delivery may be retried by the platform: a replay answers 200 and changes nothing.
        assert post(stack, corpus_inbox, channel, case).status_code == 200
        wait_idle()
        if "callback" in (case["ext_message_id"] or ""):
            check_button_press(stack, corpus_inbox, case)
        elif case["direction"].startswith("inbound (status"):
            check_unreachable(stack, corpus_inbox, case)
        else:
            check_message(corpus_inbox, case)


def check_button_press(stack, inbox, case: dict) -> None:
    from switchboard.store.models import MessageItem

    callback_id = case["ext_message_id"].split()[1]
    events = list(MessageItem.query(f"{inbox.tenant_id}#event#{inbox.id}#{callback_id}"))
    assert len(events) == 1  # recorded once, though delivered twice
    rating = re.search(r"rating=(\d)", case["expect"])
    assert events[0].meta["csat_rating"] == int(rating.group(1))
    assert stored(inbox, case["ext_message_id"].split()[-1].rstrip(")")) is None  # not stored as chat text
    def answered() -> list:
        return [call for call in stack.simulator.calls() if call["method"].lower() == "answercallbackquery"
                and call["payload"].get("callback_query_id") == callback_id]

    assert eventually(answered)  # the customer's button stops spinning


def check_unreachable(stack, inbox, case: dict) -> None:
    from switchboard.wiring import services

    identity = services().contacts.identity(inbox.tenant_id, inbox.id, case["sender_id"])
    assert identity is not None and identity.reachable is False
    # A reply to someone who blocked the bot is flagged at once, never sent and never retried forever.
    owner = demo_operator(stack, "owner@acme.example")
    calls_before = len(stack.simulator.calls())
    reply = owner.post(f"/v1/conversations/{identity.open_conversation_id}/messages", {"text": "Still there?"})
    assert reply.status_code == 201
    failed = eventually(lambda: [m for m in owner.conversation(identity.open_conversation_id)["messages"]["items"]
                                 if m["id"] == reply.json()["id"] and m["status"] == "failed"])
    assert "blocked" in failed[0]["failure_reason"]
    assert not [c for c in stack.simulator.calls()[calls_before:] if c["method"].lower() == "sendmessage"]
