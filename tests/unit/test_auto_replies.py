"""Auto-replies: what admins may configure, which reply a new conversation gets and how its next opening reads (pure),
and the service on the template's tables: sent once however often the stream delivers the new conversation, never
while an operator handles it, never to a blocked contact."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from switchboard.domain.auto_replies import GREETING, OUT_OF_HOURS, AutoReplies, opening_values, reply_for
from switchboard.domain.business_hours import BusinessHours
from switchboard.domain.conversation import Status
from switchboard.domain.errors import BadRequest, Forbidden
from switchboard.services.auto_replies import AutoReplyService
from switchboard.store.writes import ConversationWriter
from tests.unit.test_conversation_settings import person
from tests.unit.test_services import deliver, only_conversation, owner, telegram_inbox

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = BusinessHours.from_dict({"time_zone": "Europe/Berlin", "week": {
    day: [{"start": "09:00", "end": "18:00"}] for day in ("mon", "tue", "wed", "thu", "fri")}})
FRIDAY_EVENING = datetime(2026, 7, 17, 18, 30, tzinfo=UTC)  # 20:30 in Berlin
WEDNESDAY_NOON = datetime(2026, 7, 15, 10, 0, tzinfo=UTC)  # 12:00 in Berlin
SETTINGS = {
    "greeting": {"enabled": True, "texts": {"default": "We got your message and answer within two hours.",
                                            "de": "Danke! Wir antworten innerhalb von zwei Stunden."}},
    "out_of_hours": {"enabled": True, "texts": {
        "default": "We are closed; we take your question up {{next_opening}} ({{time_zone}}).",
        "de": "Wir sind gerade nicht da und melden uns {{next_opening}}.",
        "ru": "Мы ответим {{next_opening_day}} в {{next_opening_time}}."}},
}


def configured(raw: dict = SETTINGS) -> AutoReplies:
    return AutoReplies.parse(raw)


# ------------------------------------------------------------------ pure rules
def test_in_business_hours_a_new_conversation_gets_the_greeting_in_the_contacts_language():
    reply = reply_for(configured(), OFFICE, WEDNESDAY_NOON, BERLIN, "de-AT")
    assert (reply.kind, reply.language) == (GREETING, "de")
    assert reply.text == "Danke! Wir antworten innerhalb von zwei Stunden."


def test_out_of_hours_it_gets_the_out_of_hours_text_with_the_next_opening_on_the_tenants_wall():
    reply = reply_for(configured(), OFFICE, FRIDAY_EVENING, BERLIN, "en-GB")
    assert (reply.kind, reply.language) == (OUT_OF_HOURS, "default")
    assert reply.text == "We are closed; we take your question up Monday 09:00 (Europe/Berlin)."
    assert reply_for(configured(), OFFICE, FRIDAY_EVENING, BERLIN, "de").text == (
        "Wir sind gerade nicht da und melden uns Montag 09:00.")
    assert reply_for(configured(), OFFICE, FRIDAY_EVENING, BERLIN, "ru").text == "Мы ответим понедельник в 09:00."


def test_a_language_without_a_text_gets_the_default_worded_in_the_default_language():
    settings = AutoReplies.parse({**SETTINGS, "default_language": "de"})
    reply = reply_for(settings, OFFICE, FRIDAY_EVENING, BERLIN, "fi")
    assert reply.text == "We are closed; we take your question up Montag 09:00 (Europe/Berlin)."


@pytest.mark.parametrize(("now", "says"), [
    (datetime(2026, 7, 15, 4, 0, tzinfo=UTC), "today 09:00"),  # 06:00 on a Wednesday
    (datetime(2026, 7, 15, 19, 0, tzinfo=UTC), "tomorrow 09:00"),  # 21:00 on a Wednesday
    (datetime(2026, 7, 17, 21, 0, tzinfo=UTC), "Monday 09:00"),  # 23:00 on a Friday
])
def test_the_next_opening_reads_as_people_say_it(now, says):
    assert opening_values(OFFICE.next_opening(now), now, BERLIN, "en")["next_opening"] == says


def test_an_opening_more_than_a_week_away_names_its_date():
    closed = BusinessHours.from_dict({**OFFICE.to_dict(), "holidays": [f"2026-07-{d}" for d in range(20, 25)]})
    values = opening_values(closed.next_opening(FRIDAY_EVENING), FRIDAY_EVENING, BERLIN, "en")
    assert values["next_opening"] == "Monday 2026-07-27 09:00" and values["next_opening_date"] == "2026-07-27"


def test_without_an_out_of_hours_text_the_greeting_goes_out_at_night_too_and_nothing_when_both_are_off():
    greeting_only = AutoReplies.parse({"greeting": SETTINGS["greeting"]})
    assert reply_for(greeting_only, OFFICE, FRIDAY_EVENING, BERLIN, None).kind == GREETING
    off = AutoReplies.parse({"greeting": {"enabled": False, "texts": {}}})
    assert reply_for(off, OFFICE, WEDNESDAY_NOON, BERLIN, None) is None
    always = BusinessHours.always_open(BERLIN)
    assert reply_for(AutoReplies.parse({"out_of_hours": SETTINGS["out_of_hours"]}), always, FRIDAY_EVENING,
                     BERLIN, None) is None


@pytest.mark.parametrize(("raw", "says"), [
    ({"greeting": {"enabled": True, "texts": {"de": "Hallo"}}}, "needs a 'default' text"),
    ({"greeting": {"texts": {"default": "Back {{next_opening}}"}}}, "uses {{next_opening}}; the variables it may "
                                                                     "use: none"),
    ({"out_of_hours": {"texts": {"default": "Back {{opening}}"}}}, "uses {{opening}}"),
    ({"out_of_hours": {"texts": {"default": "Back {{next_opening"}}}, "malformed"),
    ({"greeting": {"texts": {"klingon!": "nuqneH"}}}, "not a language code"),
    ({"greeting": {"texts": {"default": ""}}}, "1–1000 characters"),
    ({"greeting": {"enabled": "yes", "texts": {"default": "Hi"}}}, "true or false"),
    ({"welcome": {"texts": {"default": "Hi"}}}, "auto_replies takes greeting, out_of_hours"),
    ({"greeting": "Hi"}, "must be an object"),
])
def test_settings_that_would_reach_customers_broken_are_refused(raw, says):
    with pytest.raises(BadRequest, match=says.replace("{", r"\{").replace("}", r"\}").replace("(", r"\(")):
        AutoReplies.parse(raw)


def test_a_change_replaces_the_replies_it_names_and_keeps_the_others():
    current = configured()
    changed = AutoReplies.parse({"greeting": {"enabled": False, "texts": {"default": "Hi"}}}, current)
    assert changed.greeting.enabled is False and changed.out_of_hours == current.out_of_hours
    assert AutoReplies.from_stored(changed.to_dict()) == changed


# ------------------------------------------------------------------ the service, on moto
def telegram(update_id: int, text: str, chat_id: int = 5550001234, language: str | None = "de") -> bytes:
    sender = {"id": chat_id, "is_bot": False, "first_name": "Ada", **({"language_code": language} if language else {})}
    return json.dumps({"update_id": update_id, "message": {
        "message_id": update_id, "from": sender, "chat": {"id": chat_id, "first_name": "Ada", "type": "private"},
        "date": 1784538902 + update_id, "text": text}}).encode()


def automated(services, demo, conversation_id) -> list:
    page, _ = services.conversation_service.messages(owner(demo), conversation_id, limit=50, cursor=None)
    return [m for m in page if m.author_name == "Automation"]


def service(services, now: datetime) -> AutoReplyService:
    return AutoReplyService(services.directory, services.hours_store, services.contacts, services.conversations,
                            ConversationWriter(services.transactions), now=lambda: now)


@pytest.fixture
def with_auto_replies(world):
    """Given the demo Telegram inbox with both auto-replies, and Berlin office hours."""
    services, demo = world
    admin = person(demo, "owner@acme.example")
    services.inbox_settings.update(admin, telegram_inbox(demo)["id"], {"auto_replies": SETTINGS})
    services.business_hours.put(admin, OFFICE.to_dict())
    return services, demo


def test_only_owners_and_admins_change_auto_replies_and_the_inbox_keeps_them(world):
    services, demo = world
    inbox_id = telegram_inbox(demo)["id"]
    with pytest.raises(Forbidden):
        services.inbox_settings.update(person(demo, "anna@acme.example"), inbox_id, {"auto_replies": SETTINGS})
    with pytest.raises(BadRequest):
        services.inbox_settings.update(person(demo, "owner@acme.example"), inbox_id,
                                       {"auto_replies": {"greeting": {"texts": {"default": "{{oops}}"}}}})
    inbox = services.inbox_settings.update(person(demo, "owner@acme.example"), inbox_id, {"auto_replies": SETTINGS})
    assert AutoReplies.from_stored(inbox.settings["auto_replies"]) == configured()


def test_the_reply_is_stored_once_as_a_pending_outgoing_message_however_often_the_stream_delivers(with_auto_replies):
    services, demo = with_auto_replies
    deliver(services, demo, telegram(1, "Hallo, wo ist mein Paket?"))
    conversation = only_conversation(services, demo)
    replies = service(services, WEDNESDAY_NOON)
    sent = replies.on_new_conversation(conversation)
    assert replies.on_new_conversation(conversation) is None  # a redelivered stream record
    [stored] = automated(services, demo, conversation.id)
    assert (stored.id, stored.text) == (sent.id, "Danke! Wir antworten innerhalb von zwei Stunden.")
    assert (str(stored.type), str(stored.status), stored.meta["auto_reply"]) == ("outgoing", "pending", "greeting")
    after = only_conversation(services, demo)
    assert after.last_message["text"] == stored.text and after.unread_count == 1  # not an answer: still waiting


def test_of_two_consumers_racing_exactly_one_sends(with_auto_replies):
    services, demo = with_auto_replies
    deliver(services, demo, telegram(1, "hello", language="en"))
    conversation = only_conversation(services, demo)
    start, results = threading.Barrier(4), []

    def race() -> None:
        start.wait()
        results.append(service(services, FRIDAY_EVENING).on_new_conversation(conversation))

    threads = [threading.Thread(target=race) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len([r for r in results if r is not None]) == 1
    [stored] = automated(services, demo, conversation.id)
    assert stored.text == "We are closed; we take your question up Monday 09:00 (Europe/Berlin)."


def test_nothing_goes_out_while_an_operator_handles_the_conversation(with_auto_replies):
    services, demo = with_auto_replies
    deliver(services, demo, telegram(1, "hello"))
    conversation = only_conversation(services, demo)
    services.conversation_service.assign(owner(demo), conversation.id, assignee_id=owner(demo).operator_id)
    assert service(services, WEDNESDAY_NOON).on_new_conversation(conversation) is None
    assert automated(services, demo, conversation.id) == []


def test_nothing_goes_out_to_a_contact_blocked_since_the_conversation_opened(with_auto_replies):
    services, demo = with_auto_replies
    deliver(services, demo, telegram(1, "spam spam spam"))
    conversation = only_conversation(services, demo)
    services.contact_service.set_blocked(owner(demo), conversation.contact_id, True)
    assert service(services, WEDNESDAY_NOON).on_new_conversation(conversation) is None
    assert automated(services, demo, conversation.id) == []
    assert only_conversation(services, demo).status is Status.OPEN


def test_an_inbox_without_auto_replies_sends_nothing(world):
    services, demo = world
    deliver(services, demo, telegram(1, "hello"))
    conversation = only_conversation(services, demo)
    assert service(services, WEDNESDAY_NOON).on_new_conversation(conversation) is None
    assert automated(services, demo, conversation.id) == []
