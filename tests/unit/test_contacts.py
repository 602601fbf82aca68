"""Contacts across channels: linked on verified addresses, suggested otherwise, merged without losing anything."""

import pytest

from switchboard.domain import clock
from switchboard.domain.conversation import OperatorView
from switchboard.domain.errors import BadRequest
from switchboard.domain.inbound import InboundMessage, Profile
from switchboard.services.provisioning import ProvisioningService


@pytest.fixture
def inboxes(world):
    """The demo inboxes, plus WhatsApp and SMS inboxes of the same workspace."""
    services, demo = world
    provisioning = ProvisioningService(services.directory, services.secrets, None, "unused")
    tenant = services.directory.tenant(demo["tenant"]["id"])
    made = {channel: provisioning.create_inbox(tenant, channel, channel)[0] for channel in ("whatsapp", "twilio")}
    made["widget"] = services.directory.inbox(next(i["id"] for i in demo["inboxes"] if i["channel"] == "widget"))
    return made


def write(services, inbox, source_id: str, text: str, **profile) -> None:
    now = clock.iso(clock.now())
    event = InboundMessage(source_id=source_id, external_id=f"{source_id}:{text}", sent_at=now, text=text,
                           profile=Profile(**profile))
    services.ingest.handle(inbox, [event], now)


def owner(demo) -> OperatorView:
    person = demo["operators"][0]
    return OperatorView(demo["tenant"]["id"], person["id"], "owner", name=person["name"])


def contact_of(services, demo, inbox, source_id):
    return services.contacts.identity(demo["tenant"]["id"], inbox.id, source_id).contact_id


def test_the_same_phone_on_whatsapp_and_sms_is_one_contact(world, inboxes):
    services, demo = world
    write(services, inboxes["whatsapp"], "447700900123", "hi on WhatsApp", name="Priya", phone="447700900123")
    write(services, inboxes["twilio"], "+447700900123", "hi by SMS", phone="+44 7700 900123")
    whatsapp = contact_of(services, demo, inboxes["whatsapp"], "447700900123")
    assert contact_of(services, demo, inboxes["twilio"], "+447700900123") == whatsapp
    card = services.contact_service.card(owner(demo), whatsapp)
    assert {c.channel for c in card["conversations"]} == {"whatsapp", "twilio"}
    assert len(card["contact"].identities) == 2


def test_an_unverified_email_only_suggests_a_merge(world, inboxes):
    services, demo = world
    write(services, inboxes["widget"], "visitor-1", "hello", name="Ada", email="ada@example.org")
    write(services, inboxes["widget"], "visitor-2", "hello again", name="Ada L.", email="Ada@Example.org")
    first = contact_of(services, demo, inboxes["widget"], "visitor-1")
    second = contact_of(services, demo, inboxes["widget"], "visitor-2")
    assert first != second
    suggestions = services.contact_service.card(owner(demo), first)["merge_suggestions"]
    assert suggestions == [{"id": second, "name": "Ada L.", "reason": "same email: ada@example.org"}]


def test_a_merge_moves_every_identity_and_conversation_and_is_in_the_timeline(world, inboxes):
    services, demo = world
    write(services, inboxes["widget"], "visitor-9", "from the site", name="Bo", email="bo@example.org")
    write(services, inboxes["whatsapp"], "4915100000", "from WhatsApp", name="Bo B.", phone="4915100000")
    keep = contact_of(services, demo, inboxes["widget"], "visitor-9")
    other = contact_of(services, demo, inboxes["whatsapp"], "4915100000")
    card = services.contact_service.merge(owner(demo), keep, other)
    assert {c.channel for c in card["conversations"]} == {"widget", "whatsapp"}
    assert card["contact"].phone == "+4915100000" and card["contact"].email == "bo@example.org"
    assert contact_of(services, demo, inboxes["whatsapp"], "4915100000") == keep
    # The merged-away id still leads to the card, and the timeline says what happened
    assert services.contact_service.card(owner(demo), other)["contact"].contact_id == keep
    moved = next(c for c in card["conversations"] if c.channel == "whatsapp")
    lines = [m.text for m in services.messages.page(demo["tenant"]["id"], moved.id, limit=10, cursor=None)[0]]
    assert "Olivia Owner merged Bo B. into Bo" in lines
    # Repeating the merge changes nothing more; a new WhatsApp message still reaches the kept contact
    services.contact_service.merge(owner(demo), keep, other)
    write(services, inboxes["twilio"], "+4915100000", "and by SMS", phone="+4915100000")
    assert contact_of(services, demo, inboxes["twilio"], "+4915100000") == keep


def test_a_contact_cannot_be_merged_into_itself(world, inboxes):
    services, demo = world
    write(services, inboxes["widget"], "visitor-3", "hi", name="Cy")
    me = contact_of(services, demo, inboxes["widget"], "visitor-3")
    with pytest.raises(BadRequest):
        services.contact_service.merge(owner(demo), me, me)
