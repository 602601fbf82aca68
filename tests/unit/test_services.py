"""Ingest and operator actions against the real tables (in-process moto): outcomes a user would notice."""

import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from switchboard.channels.base import WebhookRequest
from switchboard.domain import clock
from switchboard.domain.conversation import OperatorView, Status
from switchboard.domain.errors import BadRequest, Conflict, IllegalTransition, NotFound, Unauthorized

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "telegram"


def telegram_inbox(demo):
    return next(inbox for inbox in demo["inboxes"] if inbox["channel"] == "telegram")


def deliver(services, demo, body: bytes, secret: str | None = None):
    inbox = telegram_inbox(demo)
    headers = {"x-telegram-bot-api-secret-token": secret if secret is not None else inbox["webhook_secret"]}
    request = WebhookRequest("POST", headers, {}, body, clock.iso(clock.now()))
    return services.webhooks.receive("telegram", inbox["id"], request)


def update(update_id: int, message_id: int, text: str, chat_id: int = 5550001234, edit: bool = False) -> bytes:
    message = {"message_id": message_id, "from": {"id": chat_id, "is_bot": False, "first_name": "Ada"},
               "chat": {"id": chat_id, "first_name": "Ada", "type": "private"}, "date": 1784538902 + message_id,
               "text": text}
    if edit:
        message["edit_date"] = 1784539000
    return json.dumps({"update_id": update_id, ("edited_message" if edit else "message"): message}).encode()


def owner(demo) -> OperatorView:
    person = demo["operators"][0]
    return OperatorView(demo["tenant"]["id"], person["id"], "owner", name=person["name"])


def stranger() -> OperatorView:
    return OperatorView("another-tenant", "someone", "owner", name="Mallory")


def only_conversation(services, demo):
    items, _ = services.conversation_service.list(owner(demo), status=None, assignee=None, limit=10, cursor=None)
    assert len(items) == 1
    return items[0]


def messages(services, demo, conversation_id):
    page, _ = services.conversation_service.messages(owner(demo), conversation_id, limit=50, cursor=None)
    return page


def test_a_duplicate_delivery_stores_nothing_new(world):
    services, demo = world
    body = (FIXTURES / "text.json").read_bytes()
    first, second = deliver(services, demo, body), deliver(services, demo, body)
    assert first.status == second.status == 200
    conversation = only_conversation(services, demo)
    assert [m.text for m in messages(services, demo, conversation.id)] == [
        json.loads(body)["message"]["text"]]
    assert conversation.unread_count == 1


def test_a_wrong_secret_is_refused_and_nothing_is_stored(world):
    services, demo = world
    with pytest.raises(Unauthorized):
        deliver(services, demo, (FIXTURES / "text.json").read_bytes(), secret="wrong-secret")
    items, _ = services.conversation_service.list(owner(demo), status=None, assignee=None, limit=10, cursor=None)
    assert items == []


def test_malformed_json_is_a_bad_request(world):
    services, demo = world
    with pytest.raises(BadRequest):
        deliver(services, demo, b'{"update_id": 1, "message": ')


def test_an_edit_updates_the_message_and_a_late_duplicate_does_not_revert_it(world):
    services, demo = world
    deliver(services, demo, update(1, 10, "I ordered the red one"))
    deliver(services, demo, update(2, 10, "I ordered the blue one", edit=True))
    deliver(services, demo, update(1, 10, "I ordered the red one"))
    conversation = only_conversation(services, demo)
    [message] = messages(services, demo, conversation.id)
    assert message.text == "I ordered the blue one"
    assert message.edited_at is not None


def test_an_edit_that_overtakes_its_original_is_stored_once(world):
    services, demo = world
    deliver(services, demo, update(2, 11, "final words", edit=True))
    deliver(services, demo, update(1, 11, "first words"))
    [message] = messages(services, demo, only_conversation(services, demo).id)
    assert message.text == "final words"


def test_concurrent_first_messages_open_exactly_one_conversation(world):
    services, demo = world
    errors = []

    def send(number):
        try:
            deliver(services, demo, update(100 + number, 200 + number, f"message {number}"))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    conversation = only_conversation(services, demo)
    assert len(messages(services, demo, conversation.id)) == 6


def test_a_message_after_resolve_opens_a_new_conversation(world):
    services, demo = world
    deliver(services, demo, update(1, 1, "hello"))
    first = only_conversation(services, demo)
    services.conversation_service.resolve(owner(demo), first.id)
    deliver(services, demo, update(2, 2, "me again"))
    items, _ = services.conversation_service.list(owner(demo), status="open", assignee=None, limit=10, cursor=None)
    assert [c.id for c in items] != [first.id] and len(items) == 1
    with pytest.raises(Conflict):
        services.conversation_service.reopen(owner(demo), first.id)


def test_a_reply_is_pending_idempotent_and_assigns_the_first_to_answer(world):
    services, demo = world
    deliver(services, demo, update(1, 1, "hello"))
    conversation = only_conversation(services, demo)
    first = services.conversation_service.reply(owner(demo), conversation.id, "Hi Ada!", "client-1")
    again = services.conversation_service.reply(owner(demo), conversation.id, "Hi Ada!", "client-1")
    assert first.id == again.id and str(first.status) == "pending"
    after = only_conversation(services, demo)
    assert after.assignee_id == owner(demo).operator_id
    assert after.unread_count == 0
    assert len(messages(services, demo, conversation.id)) == 2


def test_another_tenants_conversation_is_not_found(world):
    services, demo = world
    deliver(services, demo, update(1, 1, "hello"))
    conversation = only_conversation(services, demo)
    with pytest.raises(NotFound):
        services.conversation_service.get(stranger(), conversation.id)
    with pytest.raises(NotFound):
        services.conversation_service.reply(stranger(), conversation.id, "hijack", None)


def test_snoozing_a_resolved_conversation_is_refused_with_the_reason(world):
    services, demo = world
    deliver(services, demo, update(1, 1, "hello"))
    conversation = only_conversation(services, demo)
    services.conversation_service.resolve(owner(demo), conversation.id)
    with pytest.raises(IllegalTransition) as refused:
        services.conversation_service.snooze(owner(demo), conversation.id, clock.now() + timedelta(minutes=1))
    assert "resolved" in refused.value.detail


def test_a_customer_message_wakes_a_snoozed_conversation(world):
    services, demo = world
    deliver(services, demo, update(1, 1, "hello"))
    conversation = only_conversation(services, demo)
    snoozed = services.conversation_service.snooze(owner(demo), conversation.id, clock.now() + timedelta(hours=1))
    assert snoozed.status is Status.SNOOZED
    deliver(services, demo, update(2, 2, "are you there?"))
    woken = only_conversation(services, demo)
    assert woken.status is Status.OPEN and woken.snoozed_until is None
    assert woken.snooze_version == snoozed.snooze_version  # the old timer's version guard now fails


def test_list_pages_with_a_cursor_and_no_repeats(world):
    services, demo = world
    for n in range(7):
        deliver(services, demo, update(n + 1, 1, f"hello from {n}", chat_id=7000 + n))
    seen, cursor = [], None
    while True:
        page, cursor = services.conversation_service.list(owner(demo), status="open", assignee="unassigned",
                                                          limit=3, cursor=cursor)
        seen += [c.id for c in page]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 7


@pytest.mark.parametrize("cursor", ["eyJhIjogMX0", "WzEsIDJd", "eyJieV9hc3NpZ25lZTp4Ijp7fX0"])
def test_a_forged_cursor_is_a_bad_request_not_a_crash(world, cursor):
    services, demo = world
    with pytest.raises(BadRequest):
        services.conversation_service.list(owner(demo), status="open", assignee="me", limit=5, cursor=cursor)


def test_a_button_press_is_recorded_once_with_its_rating_and_is_not_a_chat_message(world):
    from switchboard.store.models import MessageItem

    services, demo = world
    update = json.loads((FIXTURES / "callback_query.json").read_bytes())
    update["callback_query"]["data"] = "csat:3:conversation-1"  # Excellent, on our own rating prompt
    body = json.dumps(update).encode()
    deliver(services, demo, body)
    deliver(services, demo, body)
    inbox = telegram_inbox(demo)
    key = f"{demo['tenant']['id']}#event#{inbox['id']}#{update['callback_query']['id']}"
    [recorded] = list(MessageItem.query(key))
    assert (recorded.meta["csat_rating"], recorded.meta["csat_subject"]) == (3, "conversation-1")
    items, _ = services.conversation_service.list(owner(demo), status=None, assignee=None, limit=10, cursor=None)
    assert items == []


def test_receipts_only_move_forward_and_one_that_outruns_the_send_is_applied_later(world, bot_api):
    from switchboard.domain.inbound import DeliveryReceipt
    from switchboard.domain.message import DeliveryStatus
    from switchboard.services.delivery import DeliveryService

    services, demo = world
    deliver(services, demo, update(1, 1, "hello", chat_id=31337))
    conversation = only_conversation(services, demo)
    inbox = services.directory.inbox(telegram_inbox(demo)["id"])
    reply = services.conversation_service.reply(owner(demo), conversation.id, "hi!", None)
    # Given the platform's "read" receipt arrives before our send was recorded (the fake Bot API numbers from 9001)
    external_id = "31337:9001"
    services.ingest.handle(inbox, [DeliveryReceipt(external_id, "read", clock.iso(clock.now()))], "now")
    delivery = DeliveryService(services.messages, services.directory, services.contacts, services.secrets,
                               {"telegram": bot_api.base_url}, post_to_visitor=lambda message, visitor: 0)
    delivery.deliver(reply.tenant_id, reply.conversation_id, reply.id, attempt=1)
    stored = services.messages.get(reply.tenant_id, reply.conversation_id, reply.id)
    assert stored.external_id == external_id and stored.status is DeliveryStatus.READ
    # When a late "delivered" arrives, the status does not move back
    services.ingest.handle(inbox, [DeliveryReceipt(external_id, "delivered", clock.iso(clock.now()))], "now")
    assert services.messages.get(reply.tenant_id, reply.conversation_id, reply.id).status is DeliveryStatus.READ


def test_an_echo_from_the_platform_app_is_stored_as_outgoing_and_clears_unread(world):
    from switchboard.domain.inbound import InboundMessage
    from switchboard.domain.message import MessageType

    services, demo = world
    deliver(services, demo, update(1, 1, "hello", chat_id=4040))
    inbox = services.directory.inbox(telegram_inbox(demo)["id"])
    echo = InboundMessage(source_id="4040", external_id="4040:77", sent_at=clock.iso(clock.now()),
                          text="Answered from my phone", echo=True)
    services.ingest.handle(inbox, [echo], clock.iso(clock.now()))
    conversation = only_conversation(services, demo)
    last = messages(services, demo, conversation.id)[-1]
    assert (last.type, str(last.status), last.text) == (MessageType.OUTGOING, "sent", "Answered from my phone")
    assert conversation.unread_count == 0


def test_deletes_and_reactions_update_the_stored_message(world):
    from switchboard.domain.inbound import MessageDeleted, ReactionChanged

    services, demo = world
    deliver(services, demo, update(1, 5, "oops, wrong chat", chat_id=5050))
    deliver(services, demo, update(2, 6, "thanks!", chat_id=5050))
    inbox = services.directory.inbox(telegram_inbox(demo)["id"])
    now = clock.iso(clock.now())
    services.ingest.handle(inbox, [MessageDeleted("5050", "5050:5", now), ReactionChanged("5050", "5050:6", "👍", now)],
                           now)
    deleted, reacted = messages(services, demo, only_conversation(services, demo).id)
    assert deleted.deleted_at == now and deleted.text == ""
    assert reacted.meta["reactions"] == {"5050": "👍"}


def test_a_reply_to_an_earlier_thread_reopens_that_conversation_instead_of_starting_a_new_one(world):
    from switchboard.domain.inbound import InboundMessage, Profile

    services, demo = world
    inbox = services.directory.inbox(telegram_inbox(demo)["id"])
    now = clock.iso(clock.now())

    sent = iter(clock.iso(clock.now() + timedelta(minutes=n)) for n in range(10))

    def mail(message_id: str, text: str, *thread_keys: str) -> InboundMessage:
        return InboundMessage(source_id="ada@example.org", external_id=message_id, sent_at=next(sent), text=text,
                              profile=Profile(name="Ada", email="ada@example.org"), thread_keys=thread_keys)

    services.ingest.handle(inbox, [mail("m1@example.org", "My invoice is wrong")], now)
    first = only_conversation(services, demo)
    services.conversation_service.resolve(owner(demo), first.id)
    # When Ada answers that thread days later
    services.ingest.handle(inbox, [mail("m2@example.org", "Still wrong!", "m1@example.org")], now)
    # Then the same conversation is open again, with both messages
    items, _ = services.conversation_service.list(owner(demo), status="open", assignee=None, limit=10, cursor=None)
    assert [c.id for c in items] == [first.id]
    assert [m.text for m in messages(services, demo, first.id) if m.type.value == "incoming"] == [
        "My invoice is wrong", "Still wrong!"]
    # And a new, unrelated mail while it is open lands in it too (one open conversation per contact)
    services.ingest.handle(inbox, [mail("m3@example.org", "Also, my address changed")], now)
    assert len(services.conversation_service.list(owner(demo), status=None, assignee=None, limit=10,
                                                  cursor=None)[0]) == 1


def test_an_echo_of_our_own_reply_that_outruns_the_send_answer_is_not_stored_twice(world):
    from switchboard.domain.inbound import InboundMessage

    services, demo = world
    deliver(services, demo, update(1, 1, "hello", chat_id=7070))
    conversation = only_conversation(services, demo)
    reply = services.conversation_service.reply(owner(demo), conversation.id, "On its way!", None)
    inbox = services.directory.inbox(telegram_inbox(demo)["id"])
    # When the platform echoes our reply before the outbound worker recorded its id
    echo = InboundMessage(source_id="7070", external_id="7070:99", sent_at=clock.iso(clock.now()),
                          text="On its way!", echo=True)
    services.ingest.handle(inbox, [echo], clock.iso(clock.now()))
    # Then there is still one outgoing message, now known by the platform's id
    outgoing = [m for m in messages(services, demo, conversation.id) if m.type.value == "outgoing"]
    assert [m.id for m in outgoing] == [reply.id]
    assert services.messages.find_by_external_id(demo["tenant"]["id"], inbox.id, "7070:99")[1] == reply.id
