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
SUPPORTED = ("telegram", "whatsapp", "messenger", "instagram", "vk", "twilio")
# How the corpus's accounts are configured (each MANIFEST.md): the secrets it was signed with, the ids it names.
CORPUS_ACCOUNTS = {
    "telegram": {"token": "7012345678:corpus-token", "extra": {}},
    "whatsapp": {"token": "corpus-token", "extra": {"verify_token": "test-verify-token",
                                                    "phone_number_id": "109283746501234"}},
    "messenger": {"token": "corpus-token", "extra": {"verify_token": "test-verify-token", "page_id": "108765432109876",
                                                     "app_id": "2874561039284756"}},
    "instagram": {"token": "corpus-token", "extra": {"verify_token": "test-verify-token",
                                                     "instagram_account_id": "17841405822304914"}},
    "vk": {"token": "corpus-token", "extra": {"confirmation_code": "a1b2c3d4", "group_id": "229876543"}},
    "twilio": {"token": None, "extra": {"account_sid": "AC00000000000000000000000000000002", "webhook_urls": [
        f"https://inbox.example.com/webhooks/twilio/{kind}" for kind in ("sms", "whatsapp", "status")]}},
}


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
def corpus_inboxes(stack):
    """One inbox per channel configured like the corpus's accounts, as a tenant connects an existing account."""
    from switchboard.wiring import services

    provisioning = services().provisioning
    tenant = services().directory.tenant(stack.demo["tenant"]["id"])
    support = next(team for team in services().directory.teams(tenant.id) if team.name == "Support")
    inboxes = {}
    for channel, account in CORPUS_ACCOUNTS.items():
        inbox, credentials = provisioning.create_inbox(
            tenant, channel, f"Corpus {channel}", default_team=support, token=account["token"],
            webhook_secret="test-secret", extra=account["extra"])
        stack.simulator.add_inbox({"id": inbox.id, "channel": channel, "name": inbox.name,
                                   "webhook_secret": credentials.webhook_secret, "bot_token": credentials.token,
                                   "token": credentials.token, "extra": account["extra"]})
        inboxes[channel] = inbox
    return inboxes


def post(stack, inbox, channel: str, case: dict, *, with_headers: bool = True) -> httpx.Response:
    request = case["request"]
    headers = dict(request["headers"]) if with_headers else {"Content-Type": case["content_type"] or "text/plain"}
    url = f"{stack.urls['webhooks']}/{channel}/{inbox.id}"
    if request["method"] == "GET":
        return httpx.get(url, params=request.get("query") or {}, headers=headers, timeout=30)
    body = (CORPUS / channel / case["file"]).read_bytes()
    return httpx.post(url, content=body, headers=headers, timeout=30)


def expected_status(case: dict) -> int:
    return int(re.search(r"\b(\d{3})\b", case["expect"]).group(1))


def stored(inbox, external_id: str):
    from switchboard.wiring import services

    found = services().messages.find_by_external_id(inbox.tenant_id, inbox.id, external_id)
    return services().messages.get(inbox.tenant_id, *found) if found else None


def external_id(channel: str, case: dict) -> str:
    described = case["ext_message_id"]
    if channel == "vk":  # "peer 715432198 / conversation_message_id 1457 (id 48211)"
        numbers = re.findall(r"\d+", described)
        return f"{numbers[0]}:{numbers[1]}"
    return described.split()[0]


def check_message(channel: str, inbox, case: dict) -> None:
    message = stored(inbox, external_id(channel, case))
    assert message is not None, f"{case['file']}: the message was not stored"
    if case.get("text") is not None:
        assert message.text.startswith(case["text"].split("\n")[0])
    if "echo" in case["direction"]:
        assert message.type.value == "outgoing"  # sent from the page's own inbox: never a customer message
        return
    assert message.type.value == "incoming"
    if channel != "telegram":
        return
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
    raw = (CORPUS / channel / case["file"]).read_text(errors="replace")
    for candidate in re.findall(r"(wamid\.[\w=-]+|m_[\w-]+|SM[0-9a-f]{32})", raw):
        assert stored(inbox, candidate) is None
    if channel == "telegram":
        message = json.loads(raw).get("message") or {}
        assert stored(inbox, f"{message['chat']['id']}:{message['message_id']}") is None


if CASES:

    @pytest.mark.parametrize(("channel", "case"), CASES, ids=[f"{ch}/{c['file']}" for ch, c in CASES])
    def test_the_corpus_behaves_as_its_manifest_says(stack, corpus_inboxes, wait_idle, channel, case):
        inbox = corpus_inboxes[channel]
        answer = post(stack, inbox, channel, case)
        expected = expected_status(case)
        assert answer.status_code == expected or (expected == 403 and answer.status_code == 401), answer.text
        if case["request"].get("replay_without_header"):
            assert post(stack, inbox, channel, case, with_headers=False).status_code in (401, 403)
        if answer.status_code >= 400:
            check_nothing_stored(stack, inbox, channel, case)
            return
        check_answer_body(channel, case, answer)
        if case["request"]["method"] == "GET" or "confirmation" in case["file"]:
            return
        # Every accepted delivery may be retried by the platform: a replay answers 200 and changes nothing.
        assert post(stack, inbox, channel, case).status_code == 200
        wait_idle()
        check_effect(stack, channel, inbox, case)


def check_answer_body(channel: str, case: dict, answer: httpx.Response) -> None:
    """Some platforms read the answer: the GET challenge verbatim, VK's confirmation code or "ok"."""
    exact = re.search(r"body (?:exactly|EXACTLY)[^`]*`([^`]+)`", case["expect"]) or re.search(
        r"200 body `([^`]+)`", case["expect"])
    if exact:
        assert answer.text == exact.group(1)
        if case["request"]["method"] == "GET" or channel == "vk":
            assert answer.headers["content-type"].startswith("text/plain")


def check_effect(stack, channel: str, inbox, case: dict) -> None:
    direction, described = case["direction"], case.get("ext_message_id") or ""
    if "callback" in described:
        check_button_press(stack, inbox, case)
    elif direction.startswith("inbound (status"):
        check_unreachable(stack, inbox, case)
    elif direction.startswith("status") or "postback" in case["file"]:
        return  # a receipt for a message this corpus never sent us, or a button event without a stored text
    elif "rating=" in case["expect"]:
        check_message(channel, inbox, case)
        check_rating(inbox, case, event_id=external_id(channel, case))
    else:
        check_message(channel, inbox, case)


def check_rating(inbox, case: dict, event_id: str) -> None:
    from switchboard.store.models import MessageItem

    [event] = list(MessageItem.query(f"{inbox.tenant_id}#event#{inbox.id}#{event_id}"))
    assert event.meta["csat_rating"] == int(re.search(r"rating=(\d)", case["expect"]).group(1))


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
