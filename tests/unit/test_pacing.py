"""Platforms' send limits hold across workers: one message per chat per interval, N per account per second."""

import time

import pytest

from switchboard.services.delivery import DeliveryService, RequeueLater
from switchboard.store.pacing import Pacer
from tests.unit.test_services import deliver, only_conversation, owner, update


def test_a_second_message_to_the_same_chat_waits_for_the_interval(world):
    pacer = Pacer()
    assert pacer.claim("t", "inbox", "chat-1", chat_interval=1.0, account_per_second=0) == 0
    wait = pacer.claim("t", "inbox", "chat-1", chat_interval=1.0, account_per_second=0)
    assert 0 < wait <= 1.0
    assert pacer.claim("t", "inbox", "chat-2", chat_interval=1.0, account_per_second=0) == 0  # another chat


def test_an_account_sends_at_most_its_limit_in_one_second(world):
    pacer = Pacer()
    while time.time() % 1 > 0.7:  # keep the three claims inside one wall-clock second
        time.sleep(0.05)
    claims = [pacer.claim("t", "inbox", f"chat-{n}", chat_interval=0, account_per_second=2) for n in range(3)]
    assert claims[:2] == [0, 0] and 0 < claims[2] <= 1.0


def test_a_paced_reply_is_requeued_not_failed(world, bot_api):
    services, demo = world
    deliver(services, demo, update(1, 1, "hello", chat_id=8080))
    conversation = only_conversation(services, demo)
    first = services.conversation_service.reply(owner(demo), conversation.id, "one", None)
    second = services.conversation_service.reply(owner(demo), conversation.id, "two", None)
    delivery = DeliveryService(services.messages, services.directory, services.contacts, services.secrets,
                               {"telegram": bot_api.base_url}, post_to_visitor=lambda m, v: 0, pacer=Pacer())
    delivery.deliver(first.tenant_id, first.conversation_id, first.id, attempt=1)
    with pytest.raises(RequeueLater) as paced:
        delivery.deliver(second.tenant_id, second.conversation_id, second.id, attempt=1)
    assert 0 < paced.value.delay <= 1.0  # Telegram: one message a second per chat
    assert str(services.messages.get(second.tenant_id, second.conversation_id, second.id).status) == "pending"
    assert len(bot_api.calls) == 1
