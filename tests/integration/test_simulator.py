"""The messenger simulator on the local stack, for every platform it fakes besides Telegram: a customer writes through
real, signed webhooks, the owner answers through the REST API, the fake platform API records the reply, and receipts
and refusals come back the way each platform reports them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from infra.devstack.stack import LocalStack
from tests.integration.helpers import Operator, conversation_of, demo_inbox, demo_operator, eventually

CHANNELS = ("whatsapp", "messenger", "instagram", "vk", "twilio")
# What the platform's usual refusal (fail-next's default) tells the operator.
REFUSALS = {
    "whatsapp": "More than 24 hours have passed since the customer last wrote",
    "messenger": "More than 24 hours since the customer wrote; Messenger",
    "instagram": "More than 24 hours since the customer wrote; Instagram",
    "vk": "has not allowed messages from the community",
    "twilio": "replied STOP",
}


def _digits(count: int) -> str:
    return str(secrets.randbelow(9) + 1) + "".join(str(secrets.randbelow(10)) for _ in range(count - 1))


def _new_address(channel: str) -> str:
    """A fresh customer in the platform's own format: phone, PSID, IGSID or VK user id."""
    return {
        "whatsapp": lambda: "1555" + _digits(7),
        "messenger": lambda: "7" + _digits(15),
        "instagram": lambda: "1" + _digits(15),
        "vk": lambda: _digits(9),
        "twilio": lambda: "+1555" + _digits(7),
    }[channel]()


def _plain(address: Any) -> str:
    return str(address).removeprefix("whatsapp:").lstrip("+")


@dataclass
class Customer:
    """Someone writing to one inbox through the simulator's customer side."""

    stack: LocalStack
    inbox: dict
    address: str
    name: str

    @property
    def channel(self) -> str:
        return self.inbox["channel"]

    def control(self, path: str, body: dict) -> dict:
        answer = httpx.post(f"{self.stack.urls['simulator']}api/{path}", json=body, timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def says(self, text: str, **extra: Any) -> dict:
        sent = self.control(f"{self.channel}/{self.inbox['id']}/send",
                            {"from": self.address, "name": self.name, "text": text, **extra})
        assert sent["status"] == 200, sent
        return sent

    def sends_to_me(self) -> list[dict]:
        """What the service sent this customer through the fake platform API, failed attempts included."""
        return [call for call in self.stack.simulator.calls()
                if call["inbox_id"] == self.inbox["id"] and _plain(call["recipient"]) == _plain(self.address)]

    def conversation(self, operator: Operator, text: str) -> dict | None:
        return next((row for row in operator.conversations(limit=100)
                     if row["channel"] == self.channel and (row["last_message"] or {}).get("text") == text), None)


@pytest.fixture(scope="module")
def owner(stack: LocalStack) -> Operator:
    return demo_operator(stack, "owner@acme.example")


@pytest.fixture(scope="module")
def twilio_inbox(stack: LocalStack) -> dict:
    """A Twilio number connected with a status callback, so Twilio reports delivery (the demo inbox has none)."""
    from switchboard.channels.base import Credentials
    from switchboard.wiring import services

    tenant = services().directory.tenant(stack.demo["tenant"]["id"])
    support = next(team for team in services().directory.teams(tenant.id) if team.name == "Support")
    extra = {"account_sid": "AC" + secrets.token_hex(16), "from": "+15550199777"}
    inbox, credentials = services().provisioning.create_inbox(tenant, "twilio", "Acme SMS with receipts",
                                                              default_team=support, extra=extra)
    extra = extra | {"status_callback_url": f"{stack.urls['webhooks']}/twilio/{inbox.id}"}
    services().secrets.put(tenant.id, inbox.id, Credentials(credentials.webhook_secret, credentials.token, extra))
    simulated = {"id": inbox.id, "channel": "twilio", "name": inbox.name,
                 "webhook_secret": credentials.webhook_secret, "token": None, "extra": extra}
    stack.simulator.add_inbox(simulated)
    return simulated


@pytest.fixture
def customer_of(stack: LocalStack, twilio_inbox: dict):
    def make(channel: str) -> Customer:
        inbox = twilio_inbox if channel == "twilio" else demo_inbox(stack, channel)
        return Customer(stack, inbox, _new_address(channel), f"Kim {secrets.token_hex(3)}")

    return make


def _message(operator: Operator, conversation_id: str, message_id: str, **expected: Any) -> dict | None:
    for message in operator.conversation(conversation_id)["messages"]["items"]:
        if message["id"] == message_id and all(message.get(key) == value for key, value in expected.items()):
            return message
    return None


def _opened(owner: Operator, customer: Customer, text: str) -> dict:
    customer.says(text)
    return eventually(lambda: customer.conversation(owner, text))


def _reply(owner: Operator, row: dict, text: str) -> dict:
    answer = owner.post(f"/v1/conversations/{row['id']}/messages", {"text": text})
    assert answer.status_code == 201, answer.text
    return answer.json()


# ---------------------------------------------------------------------- the whole path, platform by platform


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_customer_writes_the_owner_replies_and_the_platform_gets_the_reply(owner, customer_of, channel):
    customer = customer_of(channel)

    # Given a customer who writes through the simulator: the webhook took it
    row = _opened(owner, customer, f"Where is my order, {customer.address}?")

    # Then the owner sees the conversation on the right channel, named when the platform gives a name
    assert row["channel"] == channel and row["inbox_id"] == customer.inbox["id"]
    if channel == "whatsapp":
        assert row["contact"]["name"] == customer.name

    # When the owner replies
    reply = _reply(owner, row, f"It ships today, {customer.name}.")

    # Then the fake platform API got the reply for this customer, and the message is sent under the platform's id
    call = eventually(lambda: [c for c in customer.sends_to_me() if c["text"] == reply["text"]])[0]
    assert 200 <= call["status"] < 300, call
    sent = eventually(lambda: _message(owner, row["id"], reply["id"], status="sent")
                      or _message(owner, row["id"], reply["id"], status="delivered"))
    assert sent["external_id"] == call["external_id"]


def test_whatsapp_delivery_and_read_receipts_reach_the_reply(owner, customer_of):
    customer = customer_of("whatsapp")
    row = _opened(owner, customer, "Can I change the address?")
    reply = _reply(owner, row, "Yes, send it over.")
    sent = eventually(lambda: _message(owner, row["id"], reply["id"], status="sent"))
    assert sent["external_id"].startswith("wamid.")

    # When WhatsApp reports the reply delivered, then read
    for status in ("delivered", "read"):
        receipt = customer.control(f"whatsapp/{customer.inbox['id']}/status",
                                   {"wamid": sent["external_id"], "status": status})

        # Then the signed status webhook was accepted and the reply moves on
        assert receipt["status"] == 200, receipt
        eventually(lambda status=status: _message(owner, row["id"], reply["id"], status=status))


def test_a_failed_whatsapp_status_webhook_fails_the_sent_reply_with_the_reason(owner, customer_of):
    customer = customer_of("whatsapp")
    row = _opened(owner, customer, "Still there?")
    reply = _reply(owner, row, "Yes, checking now.")
    sent = eventually(lambda: _message(owner, row["id"], reply["id"], status="sent"))

    # When WhatsApp accepted the send but reports later that it failed (how 131047 usually arrives)
    receipt = customer.control(f"whatsapp/{customer.inbox['id']}/status",
                               {"wamid": sent["external_id"], "status": "failed"})

    # Then the reply is failed with the operator-readable reason
    assert receipt["status"] == 200, receipt
    failed = eventually(lambda: _message(owner, row["id"], reply["id"], status="failed"))
    assert REFUSALS["whatsapp"] in failed["failure_reason"]


def test_twilio_reports_sent_then_delivered_through_the_status_callback(owner, customer_of):
    customer = customer_of("twilio")
    row = _opened(owner, customer, "Is the shop open on Sunday?")

    # When the owner replies
    reply = _reply(owner, row, "Yes, 10 to 4.")

    # Then the send asked for status callbacks, and Twilio's signed "delivered" callback was accepted
    call = eventually(lambda: customer.sends_to_me())[0]
    assert call["payload"]["StatusCallback"] == customer.inbox["extra"]["status_callback_url"]
    delivered = eventually(lambda: _message(owner, row["id"], reply["id"], status="delivered"))
    assert delivered["external_id"] == call["external_id"] and delivered["external_id"].startswith("SM")


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_refused_send_marks_the_reply_failed_with_a_reason_the_operator_can_act_on(owner, customer_of, channel):
    customer = customer_of(channel)
    row = _opened(owner, customer, "Hello?")

    # Given the platform will refuse the next send to this customer, the way it usually does
    armed = customer.control(f"{channel}/fail-next", {"recipient": customer.address})
    assert armed["armed"], armed

    # When the owner replies
    reply = _reply(owner, row, "Sorry for the wait!")

    # Then the platform answered with its error and the reply failed, saying why
    failed = eventually(lambda: _message(owner, row["id"], reply["id"], status="failed"))
    assert REFUSALS[channel] in failed["failure_reason"], failed["failure_reason"]
    call = customer.sends_to_me()[0]
    assert call["text"] == "Sorry for the wait!" and not call["external_id"]


# ---------------------------------------------------------------------- buttons


def test_a_whatsapp_button_tap_and_a_messenger_quick_reply_arrive_as_the_customers_answer(owner, customer_of):
    whatsapp, messenger = customer_of("whatsapp"), customer_of("messenger")
    tapped = whatsapp.says("", button={"id": "size:m", "title": f"Size M {whatsapp.address}"})
    chosen = messenger.says(f"Size L {messenger.address}", quick_reply="size:l")

    assert tapped["body"]["entry"][0]["changes"][0]["value"]["messages"][0]["interactive"]["type"] == "button_reply"
    assert chosen["body"]["entry"][0]["messaging"][0]["message"]["quick_reply"] == {"payload": "size:l"}
    eventually(lambda: whatsapp.conversation(owner, f"Size M {whatsapp.address}"))
    eventually(lambda: messenger.conversation(owner, f"Size L {messenger.address}"))


# ---------------------------------------------------------------------- what the fakes refuse


def test_the_fake_apis_refuse_wrong_credentials_the_way_the_platforms_do(stack):
    sim = stack.urls["simulator"]
    whatsapp = demo_inbox(stack, "whatsapp")
    twilio = demo_inbox(stack, "twilio")
    message = {"messaging_product": "whatsapp", "to": "15550001111", "type": "text", "text": {"body": "hi"}}

    graph = httpx.post(f"{sim}graph/{whatsapp['extra']['phone_number_id']}/messages", json=message,
                       headers={"Authorization": "Bearer not-the-token"})
    send_api = httpx.post(f"{sim}graph/me/messages", json={"recipient": {"id": "1"}, "message": {"text": "hi"}},
                          headers={"Authorization": "Bearer not-the-token"})
    vk = httpx.post(f"{sim}vk/method/messages.send",
                    data={"peer_ids": "1", "random_id": "1", "message": "hi", "v": "5.199", "access_token": "nope"})
    sms = httpx.post(f"{sim}twilio/2010-04-01/Accounts/{twilio['extra']['account_sid']}/Messages.json",
                     data={"To": "+15550001111", "From": twilio["extra"]["from"], "Body": "hi"},
                     auth=(twilio["extra"]["account_sid"], "not-the-auth-token"))

    assert (graph.status_code, graph.json()["error"]["code"]) == (401, 190)
    assert (send_api.status_code, send_api.json()["error"]["code"]) == (401, 190)
    assert (vk.status_code, vk.json()["error"]["error_code"]) == (200, 5)
    assert (sms.status_code, sms.json()["code"]) == (401, 20003)


# ---------------------------------------------------------------------- subscription handshakes, through the gateway


@pytest.mark.parametrize("channel", ("whatsapp", "messenger", "instagram"))
def test_metas_subscription_check_is_answered_with_the_challenge(stack, channel):
    inbox = demo_inbox(stack, channel)
    answer = httpx.get(f"{stack.urls['webhooks']}/{channel}/{inbox['id']}",
                       params={"hub.mode": "subscribe", "hub.verify_token": inbox["extra"]["verify_token"],
                               "hub.challenge": "1158201444"})
    assert (answer.status_code, answer.text) == (200, "1158201444")


def test_vks_confirmation_is_answered_with_the_confirmation_code(stack):
    inbox = demo_inbox(stack, "vk")
    answer = httpx.post(f"{stack.urls['webhooks']}/vk/{inbox['id']}",
                        json={"type": "confirmation", "group_id": int(inbox["extra"]["group_id"]),
                              "secret": inbox["webhook_secret"]})
    assert (answer.status_code, answer.text) == (200, inbox["extra"]["confirmation_code"])


# ---------------------------------------------------------------------- e-mail: S3, a signed SNS notification and SES


def _sent_mail_to(stack: LocalStack, address: str) -> list[dict]:
    answer = httpx.get(f"{stack.urls['simulator']}api/mail", params={"to": address}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["messages"]


def test_an_email_customer_writes_the_owner_replies_through_ses_and_the_answer_threads_back(stack, owner):
    inbox = demo_inbox(stack, "email")
    address, name = f"ada.{secrets.token_hex(3)}@example.org", f"Ada {secrets.token_hex(3)}"
    subject, text = f"Order {secrets.token_hex(2)} is late", "Where is my order? It was due on Monday."

    def writes(body: str, **extra: Any) -> dict:
        answer = httpx.post(f"{stack.urls['simulator']}api/email/{inbox['id']}/send", timeout=30,
                            json={"from": address, "name": name, "subject": subject, "text": body, **extra})
        assert answer.status_code == 200, answer.text
        sent = answer.json()
        assert sent["status"] == 200, sent
        return sent

    # Given a customer whose mail SES stored in S3 and announced through the signed SNS notification
    first = writes(text)
    assert first["body"]["SignatureVersion"] == "1" and first["body"]["TopicArn"] == inbox["extra"]["topic_arn"]

    # Then the owner sees an e-mail conversation with the customer's name
    row = eventually(lambda: conversation_of_email(owner, name))
    assert row["channel"] == "email" and row["inbox_id"] == inbox["id"]

    # When the owner replies
    reply = _reply(owner, row, "It left the warehouse this morning.")

    # Then SES sent it to the customer, as an answer to their mail, and the reply is sent
    mail = eventually(lambda: _sent_mail_to(stack, address))[0]
    assert mail["subject"] == f"Re: {subject}"
    assert mail["in_reply_to"] == first["message_id"]
    assert "It left the warehouse this morning." in mail["text"]
    eventually(lambda: _message(owner, row["id"], reply["id"], status="sent"))

    # When the owner resolves the conversation and the customer answers the reply
    resolved = owner.post(f"/v1/conversations/{row['id']}/resolve")
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved", resolved.text
    ours = mail["references"].split()[-1]  # the product's own id goes last in References (SES rewrites Message-ID)
    writes("Thanks, it just arrived!", in_reply_to=ours)

    # Then the same conversation reopens with the answer
    def reopened() -> dict | None:
        current = owner.conversation(row["id"])
        texts = [message["text"] for message in current["messages"]["items"]]
        return current if "Thanks, it just arrived!" in texts else None

    assert eventually(reopened)["conversation"]["status"] == "open"


def conversation_of_email(owner: Operator, name: str) -> dict | None:
    return next((row for row in owner.conversations(limit=100)
                 if row["channel"] == "email" and row["contact"]["name"] == name), None)


def test_the_same_phone_on_whatsapp_and_sms_is_one_contact_and_a_merge_is_one_call(stack):
    owner = demo_operator(stack, "owner@acme.example")
    whatsapp = next(i for i in stack.demo["inboxes"] if i["channel"] == "whatsapp")
    sms = next(i for i in stack.demo["inboxes"] if i["channel"] == "twilio")
    widget = next(i for i in stack.demo["inboxes"] if i["channel"] == "widget")
    sim = f"{stack.urls['gateway']}/sim/api"
    httpx.post(f"{sim}/whatsapp/{whatsapp['id']}/send", json={"from": "447700900555", "name": "Mo", "text": "hi"})
    httpx.post(f"{sim}/twilio/{sms['id']}/send", json={"from": "+447700900555", "text": "hi again by SMS"})
    row = eventually(lambda: conversation_of(owner, "Mo"))
    def card_with_both_channels() -> dict | None:
        card = owner.get(f"/v1/contacts/{row['contact']['id']}").json()
        return card if len(card["conversations"]) == 2 else None

    card = eventually(card_with_both_channels)
    assert {c["channel"] for c in card["conversations"]} == {"whatsapp", "twilio"}
    # A widget visitor who only typed a name is another contact until an operator merges them
    session = httpx.post(f"{stack.urls['webhooks']}/widget/{widget['id']}", json={"type": "session"}).json()
    httpx.post(f"{stack.urls['webhooks']}/widget/{widget['id']}", json={
        "type": "message", "client_id": "m1", "text": "it's Mo from the site", "name": "Mo (site)", **session})
    visitor = eventually(lambda: conversation_of(owner, "Mo (site)"))
    merged = owner.post(f"/v1/contacts/{card['id']}/merge", {"other_contact_id": visitor["contact"]["id"]})
    assert merged.status_code == 200
    assert {c["channel"] for c in merged.json()["conversations"]} == {"whatsapp", "twilio", "widget"}
    assert owner.get(f"/v1/contacts/{visitor['contact']['id']}").json()["id"] == card["id"]


@pytest.mark.parametrize(("channel", "address"), [("messenger", "24681357900"), ("instagram", "17841499999"),
                                                  ("vk", "715400001")])
def test_platforms_that_send_no_names_get_them_from_their_profile_api(stack, channel, address):
    owner = demo_operator(stack, "owner@acme.example")
    inbox = next(i for i in stack.demo["inboxes"] if i["channel"] == channel)
    name = f"Named {channel.title()} Customer"
    answer = httpx.post(f"{stack.urls['gateway']}/sim/api/{channel}/{inbox['id']}/send",
                        json={"from": address, "name": name, "text": "hello, who am I?"})
    assert answer.json()["status"] == 200
    row = eventually(lambda: conversation_of(owner, name))
    assert row["channel"] == channel
    assert owner.get(f"/v1/contacts/{row['contact']['id']}").json()["name"] == name
