"""Auto-replies on the local stack, in a workspace of their own (no other test sees them): an admin sets them on an
inbox through the API; a new conversation gets the greeting, or out of hours a message naming the next opening, sent to
the customer through the platform; once only, even when the platform delivers the first message twice; never while an
operator handles the conversation; never to a blocked contact."""

from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from websockets.sync.client import connect

from tests.integration.helpers import Operator, TelegramCustomer, conversation_of, eventually

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
PASSWORD = "Auto-replies-test-1"
GREETING = "We got your message and answer within two hours."
GREETING_DE = "Danke! Wir antworten innerhalb von zwei Stunden."
_chat_ids = itertools.count(550_000_001)


class Customer(TelegramCustomer):
    """A Telegram user whose app is set to ``language`` (Telegram sends it as language_code)."""

    def __init__(self, *args, language: str = "en", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.language = language

    def update(self, text: str) -> dict:
        body = super().update(text)
        body["message"]["from"]["language_code"] = self.language
        return body

    def automated(self, texts: tuple[str, ...]) -> list[str]:
        return [text for text in self.replies_received() if text in texts]


@dataclass
class Office:
    """A Berlin tenant with a Desk team, a Telegram bot inbox the simulator knows, an owner and an operator."""

    stack: object
    tenant: object
    team: object
    inbox: dict
    emails: dict = field(default_factory=dict)
    _signed_in: dict = field(default_factory=dict)

    def operator(self, who: str) -> Operator:
        if who not in self._signed_in:
            self._signed_in[who] = Operator(self.stack, self.emails[who], PASSWORD)
        return self._signed_in[who]

    def customer(self, name: str, language: str = "en") -> Customer:
        return Customer(self.stack, next(_chat_ids), first_name=name, inbox=self.inbox, language=language)

    def set_auto_replies(self, settings: dict) -> dict:
        answer = self.operator("owner").http.patch(f"/v1/inboxes/{self.inbox['id']}", json={"auto_replies": settings})
        assert answer.status_code == 200, answer.text
        return answer.json()

    def set_hours(self, hours: dict) -> None:
        answer = self.operator("owner").http.put("/v1/business-hours", json=hours)
        assert answer.status_code == 200, answer.text

    def row(self, name: str) -> dict:
        return eventually(lambda: conversation_of(self.operator("owner"), name, status="open"))

    def automation_messages(self, conversation_id: str) -> list[str]:
        items = self.operator("owner").conversation(conversation_id)["messages"]["items"]
        return [m["text"] for m in items if m["author_name"] == "Automation"]


@pytest.fixture
def office(stack, request) -> Office:
    from switchboard.wiring import services

    provisioning = services().provisioning
    tenant = provisioning.create_tenant(f"Auto-replies {request.node.name[:40]}", time_zone="Europe/Berlin")
    team = provisioning.create_team(tenant, "Desk")
    token = f"{next(_chat_ids)}:auto-replies-{uuid.uuid4().hex[:8]}"
    inbox, credentials = provisioning.create_inbox(tenant, "telegram", "Office bot", default_team=team, token=token)
    simulated = {"id": inbox.id, "channel": "telegram", "name": inbox.name, "webhook_secret":
                 credentials.webhook_secret, "bot_token": token, "token": token, "extra": {}}
    stack.simulator.add_inbox(simulated)
    space = Office(stack, tenant, team, simulated)
    run = uuid.uuid4().hex[:8]
    for short, name, role in (("owner", "Otto Owner", "owner"), ("ada", "Ada Desk", "operator")):
        email = f"{short}.{run}@auto-replies.example"
        provisioning.create_operator(tenant, email=email, name=name, password=PASSWORD, role=role, teams=[team])
        space.emails[short] = email
    return space


SETTINGS = {
    "greeting": {"enabled": True, "texts": {"default": GREETING, "de": GREETING_DE}},
    "out_of_hours": {"enabled": True, "texts": {
        "default": "We are closed now and take your question up {{next_opening}} (Berlin time).",
        "de": "Wir sind gerade nicht da und melden uns {{next_opening}}."}},
}


def test_a_new_conversation_gets_the_greeting_once_even_when_the_platform_delivers_twice(office, wait_idle):
    shown = office.set_auto_replies(SETTINGS)["auto_replies"]
    assert shown["greeting"] == {"enabled": True, "texts": {"default": GREETING, "de": GREETING_DE}}
    office.set_hours({"time_zone": "Europe/Berlin", "always_open": True})
    customer = office.customer("Greta Greeted", language="de")
    first = customer.update("Hallo, wo bleibt meine Bestellung?")
    customer.post(first)
    customer.post(first)  # Telegram retried the webhook: the same update again
    eventually(lambda: customer.automated((GREETING_DE,)))
    wait_idle()
    assert customer.automated((GREETING, GREETING_DE)) == [GREETING_DE]
    row = office.row("Greta Greeted")
    assert office.automation_messages(row["id"]) == [GREETING_DE]
    # A second message in the same conversation is no new conversation: no second greeting
    customer.says("Order #B-7")
    wait_idle()
    assert customer.automated((GREETING, GREETING_DE)) == [GREETING_DE]


def test_out_of_hours_the_reply_says_when_the_question_will_be_taken_up(office, wait_idle):
    office.set_auto_replies(SETTINGS)
    # Open only 09:00–10:00 on the day after tomorrow (Berlin): now is closed, and that is the next opening
    today = datetime.now(UTC).astimezone(BERLIN)
    opening_day = (today + timedelta(days=2)).weekday()
    office.set_hours({"time_zone": "Europe/Berlin",
                      "week": {WEEKDAYS[opening_day]: [{"start": "09:00", "end": "10:00"}]}})
    expected = f"We are closed now and take your question up {DAY_NAMES[opening_day]} 09:00 (Berlin time)."
    customer = office.customer("Nora Night", language="fi")  # no Finnish text: the default, in English
    customer.says("Is anyone there?")
    eventually(lambda: customer.automated((expected,)))
    wait_idle()
    assert office.automation_messages(office.row("Nora Night")["id"]) == [expected]
    assert customer.automated((GREETING, GREETING_DE)) == []  # one auto-reply per conversation


def test_no_auto_reply_when_round_robin_gives_the_conversation_to_an_operator_at_once(office, wait_idle):
    office.set_auto_replies(SETTINGS)
    office.set_hours({"time_zone": "Europe/Berlin", "always_open": True})
    owner, ada = office.operator("owner"), office.operator("ada")
    answer = owner.http.patch(f"/v1/teams/{office.team.id}", json={"auto_assign": True})
    assert answer.status_code == 200, answer.text
    customer = office.customer("Hanna Handled")
    with connect(f"{office.stack.urls['ws']}?token={ada.token}"):  # Ada is online: round robin gives it to her
        customer.says("I need help with my invoice")
        row = office.row("Hanna Handled")
        wait_idle()
        assert ada.conversation(row["id"])["conversation"]["assignee_id"] == ada.id
    assert office.automation_messages(row["id"]) == []
    assert customer.automated((GREETING, GREETING_DE)) == []


def test_a_blocked_contact_gets_no_auto_reply(office, wait_idle):
    office.set_auto_replies(SETTINGS)
    office.set_hours({"time_zone": "Europe/Berlin", "always_open": True})
    owner = office.operator("owner")
    customer = office.customer("Sam Spammer")
    customer.says("BUY CHEAP WATCHES")
    row = office.row("Sam Spammer")
    eventually(lambda: customer.automated((GREETING,)))
    assert owner.post(f"/v1/conversations/{row['id']}/resolve").status_code == 200
    assert owner.post(f"/v1/contacts/{row['contact']['id']}/block").status_code == 200
    wait_idle()
    # When the blocked contact writes again, nothing opens and nothing is sent back
    customer.says("BUY CHEAP WATCHES NOW")
    wait_idle()
    time.sleep(0.3)  # the outbound queue would have delivered a reply by now
    wait_idle()
    assert customer.automated((GREETING,)) == [GREETING]  # only the first conversation's
    assert conversation_of(owner, "Sam Spammer", status="open") is None


def test_only_owners_and_admins_change_auto_replies_and_broken_texts_are_refused(office):
    ada, owner = office.operator("ada"), office.operator("owner")
    url = f"/v1/inboxes/{office.inbox['id']}"
    assert ada.http.patch(url, json={"auto_replies": SETTINGS}).status_code == 403
    refused = owner.http.patch(url, json={"auto_replies": {"out_of_hours": {"texts": {"default": "{{opening}}"}}}})
    assert refused.status_code == 400 and "{{opening}}" in refused.json()["detail"]
    listed = next(i for i in owner.get("/v1/inboxes").json()["items"] if i["id"] == office.inbox["id"])
    assert listed["auto_replies"]["greeting"]["enabled"] is False  # nothing was saved
