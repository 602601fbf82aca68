"""Delivering replies: sent with the platform's id, or failed with a reason an operator understands."""

import pytest

from switchboard.domain.message import DeliveryStatus
from switchboard.services.delivery import DeliveryService, RetryLater
from tests.unit.test_services import deliver, only_conversation, owner, update


@pytest.fixture
def delivery(world, bot_api):
    services, demo = world
    service = DeliveryService(services.messages, services.directory, services.contacts, services.secrets,
                              {"telegram": bot_api.base_url}, post_to_visitor=lambda message, visitor: 0)
    return services, demo, service


def a_reply(services, demo, text="We are on it."):
    deliver(services, demo, update(1, 1, "Where is my parcel?", chat_id=4242))
    conversation = only_conversation(services, demo)
    return services.conversation_service.reply(owner(demo), conversation.id, text, None)


def stored(services, message):
    return services.messages.get(message.tenant_id, message.conversation_id, message.id)


def test_a_reply_is_sent_through_the_bot_api_and_marked_sent(delivery, bot_api):
    services, demo, service = delivery
    reply = a_reply(services, demo)
    assert service.deliver(reply.tenant_id, reply.conversation_id, reply.id, attempt=1) is DeliveryStatus.SENT
    path, payload = bot_api.calls[0]
    assert path.endswith("/sendMessage") and payload["chat_id"] in (4242, "4242")
    assert payload["text"] == "We are on it."
    after = stored(services, reply)
    assert after.status is DeliveryStatus.SENT and after.external_id.startswith("4242:")


def test_a_redelivered_job_does_not_send_twice(delivery, bot_api):
    services, demo, service = delivery
    reply = a_reply(services, demo)
    service.deliver(reply.tenant_id, reply.conversation_id, reply.id, attempt=1)
    assert service.deliver(reply.tenant_id, reply.conversation_id, reply.id, attempt=2) is None
    assert len(bot_api.calls) == 1


def test_a_blocked_bot_fails_with_the_reason_and_later_replies_are_not_attempted(delivery, bot_api):
    services, demo, service = delivery
    reply = a_reply(services, demo)
    bot_api.answer(403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"})
    assert service.deliver(reply.tenant_id, reply.conversation_id, reply.id, attempt=1) is DeliveryStatus.FAILED
    assert "blocked" in stored(services, reply).failure_reason
    second = services.conversation_service.reply(owner(demo), reply.conversation_id, "Hello?", None)
    service.deliver(second.tenant_id, second.conversation_id, second.id, attempt=1)
    assert stored(services, second).status is DeliveryStatus.FAILED
    assert len(bot_api.calls) == 1  # the second reply never reached the platform


def test_transient_errors_are_retried_with_backoff_then_fail_visibly(delivery, bot_api):
    services, demo, service = delivery
    reply = a_reply(services, demo)
    for attempt in range(1, 5):
        bot_api.answer(500, {"ok": False, "error_code": 500, "description": "Internal Server Error"})
        with pytest.raises(RetryLater) as retry:
            service.deliver(reply.tenant_id, reply.conversation_id, reply.id, attempt=attempt)
        assert retry.value.delay == 2 ** attempt
        assert stored(services, reply).status is DeliveryStatus.PENDING
    bot_api.answer(500, {"ok": False, "error_code": 500, "description": "Internal Server Error"})
    assert service.deliver(reply.tenant_id, reply.conversation_id, reply.id, attempt=5) is DeliveryStatus.FAILED
    assert stored(services, reply).failure_reason.startswith("Not delivered after 5 attempts")


def test_an_email_reply_carries_the_threads_subject_and_message_ids(world):
    from switchboard.domain import clock
    from switchboard.domain.inbound import InboundMessage, Profile
    from switchboard.services.provisioning import ProvisioningService

    services, demo = world
    sent: list[bytes] = []
    provisioning = ProvisioningService(services.directory, services.secrets, None, "unused")
    tenant = services.directory.tenant(demo["tenant"]["id"])
    inbox, _ = provisioning.create_inbox(tenant, "email", "support@acme.example",
                                         extra={"from_address": "support@acme.example", "topic_arn": "arn:t"})
    mail = InboundMessage(source_id="ada@example.org", external_id="m1@example.org", sent_at=clock.iso(clock.now()),
                          text="Where is my invoice?", profile=Profile(name="Ada", email="ada@example.org"),
                          meta={"subject": "Invoice 42"})
    services.ingest.handle(inbox, [mail], clock.iso(clock.now()))
    conversation = only_conversation(services, demo)
    reply = services.conversation_service.reply(owner(demo), conversation.id, "Attached, sorry!", None)

    # Given SES stands in as a function that keeps the raw message
    from switchboard.channels.email import EmailChannel

    ses = EmailChannel(send_raw=lambda raw, sender, recipients: sent.append(raw) or "ses-id")
    service = DeliveryService(services.messages, services.directory, services.contacts, services.secrets,
                              {}, post_to_visitor=lambda message, visitor: 0, channels=lambda name: ses)
    assert service.deliver(reply.tenant_id, reply.conversation_id, reply.id, attempt=1) is DeliveryStatus.SENT
    import email

    parsed = email.message_from_bytes(sent[0])
    assert parsed["Subject"] == "Re: Invoice 42"
    assert parsed["In-Reply-To"] == "<m1@example.org>"
    assert "<m1@example.org>" in parsed["References"]
