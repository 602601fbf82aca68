"""WhatsApp Cloud API adapter: ``messages`` webhooks (every message kind, statuses, Business-app echoes) and sends
against a local fake Graph API."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from switchboard.channels.base import Credentials, OutboundAttachment, OutboundMessage, WebhookRequest
from switchboard.channels.whatsapp import WhatsAppChannel
from switchboard.domain.errors import BadRequest, DeliveryFailed
from switchboard.domain.inbound import ButtonPressed, DeliveryReceipt, InboundMessage, Profile, ReactionChanged
from switchboard.domain.message import Attachment, AttachmentKind
from tests.support.fake_graph import FakeGraphApi

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "whatsapp"
RECEIVED_AT = "2026-09-21T18:00:00.000Z"
PHONE_NUMBER_ID = "106540352242922"
OTHER_PHONE_NUMBER_ID = "122300445566778"
TOKEN = "EAAG-whatsapp-system-user-token"
CREDENTIALS = Credentials(webhook_secret="meta-app-secret-01", token=TOKEN,
                          extra={"phone_number_id": PHONE_NUMBER_ID, "verify_token": "switchboard-verify-7f3a"})
BSUID = "DE.1502576394655001"
WA_ID = "4915112345678"
JURGEN = Profile(name="Jürgen Weiß", phone="+4915112345678")
IDENTITY = {"wa_id": WA_ID, "user_id": BSUID}
WAMID = "wamid.HBgNNDkxNTExMjM0NTY3OBUCABIYFDNBMDAwMDAwMDAwMDAwMDAwM"
CSAT_PROMPT = "wamid.HBgNNDkxNTExMjM0NTY3OBUCABEYEkNTQVRQUk9NUFQwMDAwMDAwMQA="
OUR_REPLY = "wamid.HBgNNDkxNTExMjM0NTY3OBUCABEYEk9VVEdPSU5HMDAwMDAwMDAwMQA="
channel = WhatsAppChannel()


def body_of(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def webhook_of(name: str) -> dict:
    return json.loads(body_of(name))


def first_message(webhook: dict) -> dict:
    return webhook["entry"][0]["changes"][0]["value"]["messages"][0]


def request(body: bytes | dict) -> WebhookRequest:
    raw = json.dumps(body).encode() if isinstance(body, dict) else body
    return WebhookRequest(method="POST", headers={"content-type": "application/json"}, query={}, body=raw,
                          received_at=RECEIVED_AT)


def parse(body: bytes | dict, credentials: Credentials | None = None) -> list:
    return channel.parse(request(body), credentials)


def parse_one(body: bytes | dict):
    events = parse(body)
    assert len(events) == 1, events
    return events[0]


def with_message(name: str, **changes) -> dict:
    """A fixture with fields of its first message replaced (None deletes the field)."""
    webhook = webhook_of(name)
    message = first_message(webhook)
    for key, value in changes.items():
        if value is None:
            message.pop(key, None)
        else:
            message[key] = value
    return webhook


# --- capabilities ----------------------------------------------------------------------------------------------


def test_capabilities_describe_the_24_hour_window_and_three_reply_buttons():
    caps = channel.capabilities
    assert (channel.name, caps.can_edit, caps.can_delete, caps.read_receipts) == ("whatsapp", False, False, True)
    assert (caps.buttons, caps.max_text_length, caps.reply_window_hours) == (3, 4096, 24)
    assert caps.max_attachment_bytes == 16 * 1024 * 1024


# --- messages --------------------------------------------------------------------------------------------------


def test_a_text_message_is_keyed_on_the_business_scoped_user_id():
    # Given a text from a customer Meta identifies by BSUID and phone number (non-ASCII sent as \u escapes)
    # When it is parsed
    event = parse_one(body_of("text.json"))
    # Then the BSUID is the identity, the phone is on the profile and both ids are kept
    assert event == InboundMessage(
        source_id=BSUID,
        external_id=WAMID + "DEA",
        sent_at="2026-09-21T14:13:20.000Z",
        profile=JURGEN,
        text="Hallo! Meine Bestellung #NW-7781 ist noch nicht da \U0001f615 Können Sie nachsehen?",
        meta=IDENTITY,
    )


def test_without_a_bsuid_the_phone_number_is_the_identity():
    webhook = with_message("text.json", from_user_id=None)
    del webhook["entry"][0]["changes"][0]["value"]["contacts"][0]["user_id"]
    event = parse_one(webhook)
    assert (event.source_id, event.profile, event.meta) == (WA_ID, JURGEN, {"wa_id": WA_ID})


def test_a_username_only_customer_has_no_phone_number():
    # Given the batch, whose third message comes from a customer who hides their number behind a username
    event = parse(body_of("batch.json"))[2]
    # Then the BSUID identifies them and the profile carries the username instead of a phone
    assert event.source_id == "SG.8800112233445566"
    assert event.profile == Profile(name="Mei Lin", username="@meilin")
    assert event.meta == {"user_id": "SG.8800112233445566"}


def test_a_message_naming_no_customer_is_a_bad_request():
    webhook = with_message("text.json", from_user_id=None, **{"from": None})
    webhook["entry"][0]["changes"][0]["value"]["contacts"] = []
    with pytest.raises(BadRequest, match="names no customer"):
        parse(webhook)


def test_a_message_without_an_id_is_a_bad_request():
    with pytest.raises(BadRequest, match=r"message\.id"):
        parse(with_message("text.json", id=None))


def test_an_image_references_the_media_id_with_its_caption_as_text():
    event = parse_one(body_of("image.json"))
    assert event.text == "Karton war beschädigt"
    assert event.sent_at == "2026-09-21T14:14:20.000Z"
    assert event.attachments == (
        Attachment(kind=AttachmentKind.IMAGE, ref="1029384756102938", mime="image/jpeg",
                   meta={"sha256": "tk8H6Qn2mYcJ0yq1Zb7vW3xR5sA9dE4fG2hJ6kL8pN0="}),
    )


def test_a_video():
    event = parse_one(body_of("video.json"))
    assert event.text == "So sah es aus"
    assert event.attachments == (
        Attachment(kind=AttachmentKind.VIDEO, ref="2039485761203948", mime="video/mp4",
                   meta={"sha256": "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZg=="}),
    )


def test_a_recorded_voice_note_is_a_voice_attachment():
    (attachment,) = parse_one(body_of("voice.json")).attachments
    assert (attachment.kind, attachment.ref, attachment.mime) == (
        AttachmentKind.VOICE, "3049586712304958", "audio/ogg; codecs=opus")


def test_an_audio_file_is_an_audio_attachment():
    webhook = webhook_of("voice.json")
    first_message(webhook)["audio"]["voice"] = False
    assert parse_one(webhook).attachments[0].kind is AttachmentKind.AUDIO


def test_a_document_keeps_its_file_name_and_caption():
    event = parse_one(body_of("document.json"))
    assert event.text == "Rechnung"
    assert event.attachments == (
        Attachment(kind=AttachmentKind.FILE, ref="4059687723405968", name="Rechnung_NW-7781.pdf",
                   mime="application/pdf", meta={"sha256": "cmVjaG51bmdoYXNoMTIzNDU2Nzg5MDEyMzQ1Njc4OTA="}),
    )


def test_a_sticker():
    (attachment,) = parse_one(body_of("sticker.json")).attachments
    assert attachment == Attachment(kind=AttachmentKind.STICKER, ref="5069788734506978", mime="image/webp",
                                    meta={"sha256": "c3RpY2tlcmhhc2gxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=", "animated": False})


def test_a_location_with_its_name_and_address():
    event = parse_one(body_of("location.json"))
    assert event.text == ""
    assert event.attachments == (
        Attachment(kind=AttachmentKind.LOCATION, name="Abholstation Mitte",
                   meta={"latitude": 52.520008, "longitude": 13.404954, "name": "Abholstation Mitte",
                         "address": "Alexanderplatz 1, 10178 Berlin", "url": "https://example.de/abholung"}),
    )


def test_shared_contacts_are_one_attachment_per_card_and_not_the_senders_profile():
    event = parse_one(body_of("contacts.json"))
    assert event.profile == JURGEN
    assert event.attachments == (
        Attachment(kind=AttachmentKind.CONTACT, name="Anna Müller", meta={
            "phone_number": "+49 151 98765432", "phones": ["+49 151 98765432"], "wa_ids": ["4915198765432"],
            "emails": ["anna@example.de"], "first_name": "Anna", "last_name": "Müller", "company": "Nordwind GmbH"}),
        Attachment(kind=AttachmentKind.CONTACT, name="Lager Hamburg", meta={
            "phone_number": "+49 40 1234567", "phones": ["+49 40 1234567"], "first_name": "Lager"}),
    )


def test_a_csat_reply_button_is_a_message_and_a_rating():
    # Given a tap on one of the CSAT prompt's reply buttons
    events = parse(body_of("interactive_button_reply.json"))
    # Then the tap shows in the conversation, replying to our prompt...
    message, pressed = events
    assert message == InboundMessage(
        source_id=BSUID, external_id=WAMID + "DBA", sent_at="2026-09-21T14:23:20.000Z", profile=JURGEN,
        text="\U0001f600 Sehr gut", reply_to_external_id=CSAT_PROMPT,
        meta={**IDENTITY, "button_id": "csat:3:conv-01J8Z3K4M5", "button_kind": "reply_button"},
    )
    # ...and is recorded as a button press keyed on the wamid, so a retried webhook rates once
    assert pressed == ButtonPressed(source_id=BSUID, event_id=WAMID + "DBA", data="csat:3:conv-01J8Z3K4M5",
                                    at="2026-09-21T14:23:20.000Z", on_external_id=CSAT_PROMPT, profile=JURGEN)


def test_a_reply_button_that_is_not_csat_is_only_a_message():
    webhook = webhook_of("interactive_button_reply.json")
    first_message(webhook)["interactive"]["button_reply"]["id"] = "order:cancel"
    event = parse_one(webhook)
    assert event.meta["button_id"] == "order:cancel"


def test_a_list_reply_keeps_its_id_and_description():
    event = parse_one(body_of("interactive_list_reply.json"))
    assert event.text == "Expressversand"
    assert event.meta == {**IDENTITY, "button_id": "ship:express", "button_kind": "list_reply",
                          "description": "Zustellung morgen bis 12 Uhr"}


def test_an_unknown_interactive_reply_is_shown_as_unsupported():
    webhook = webhook_of("interactive_list_reply.json")
    first_message(webhook)["interactive"] = {"type": "call_permission_reply", "call_permission_reply": {}}
    event = parse_one(webhook)
    assert event.text == "unsupported message type: interactive.call_permission_reply"


def test_a_template_quick_reply_button_keeps_its_payload():
    event = parse_one(body_of("template_button.json"))
    assert event.text == "Keine Werbung mehr"
    assert event.meta == {**IDENTITY, "button_id": "STOP_PROMOTIONS", "button_kind": "template_button"}


def test_a_template_button_with_a_csat_payload_is_also_a_rating():
    webhook = webhook_of("template_button.json")
    first_message(webhook)["button"]["payload"] = "csat:5:conv-01J8Z3K4M5"
    message, pressed = parse(webhook)
    assert isinstance(message, InboundMessage)
    assert (pressed.data, pressed.event_id) == ("csat:5:conv-01J8Z3K4M5", WAMID + "DTA")


def test_a_reaction():
    assert parse_one(body_of("reaction.json")) == ReactionChanged(
        source_id=BSUID, external_id="wamid.HBgNNDkxNTExMjM0NTY3OBUCABEYEk9VUlJFUExZMDAwMDAwMDAwMQA=",
        emoji="\U0001f44d", at="2026-09-21T14:23:50.000Z", event_id=WAMID + "DXA")


@pytest.mark.parametrize("emoji", [None, ""])
def test_a_reaction_without_an_emoji_removes_it(emoji):
    webhook = webhook_of("reaction_removed.json")
    if emoji is not None:
        first_message(webhook)["reaction"]["emoji"] = emoji
    event = parse_one(webhook)
    assert isinstance(event, ReactionChanged)
    assert event.emoji is None


def test_an_order_keeps_its_items():
    event = parse_one(body_of("order.json"))
    assert event.text == "Bitte schnell liefern"
    assert event.meta["order"]["catalog_id"] == "7744551122334455"
    assert [item["product_retailer_id"] for item in event.meta["order"]["product_items"]] == ["SKU-TEE-M", "SKU-CAP"]


def test_an_unsupported_message_is_shown_with_what_the_customer_sent():
    event = parse_one(body_of("unsupported.json"))
    assert event.text == "unsupported message type: poll_creation"
    assert event.meta == {**IDENTITY, "unsupported": "poll_creation", "errors": [
        {"code": 131051, "title": "Message type unknown", "message": "Message type unknown"}]}


@pytest.mark.parametrize(("changes", "kind"), [
    ({"type": "unknown", "unsupported": None}, "unknown"),
    ({"type": "ephemeral", "unsupported": None, "errors": None}, "ephemeral"),
    ({"type": "text", "unsupported": None}, "text"),  # errors on a known type still mean there is no content
])
def test_unknown_kinds_and_errors_become_a_placeholder(changes, kind):
    event = parse_one(with_message("unsupported.json", **changes))
    assert event.text == f"unsupported message type: {kind}"
    assert event.meta["unsupported"] == kind


def test_a_system_message_is_shown_as_whatsapps_notice():
    webhook = with_message("text.json", type="system", text=None, system={
        "body": "User Jürgen changed from 4915112345678 to 4915199990000", "wa_id": "4915199990000",
        "type": "user_changed_number"})
    event = parse_one(webhook)
    assert event.text == "User Jürgen changed from 4915112345678 to 4915199990000"
    assert event.meta["system"] == "user_changed_number"


def test_the_first_open_of_a_chat_is_not_a_message():
    assert parse(with_message("text.json", type="request_welcome", text=None)) == []


def test_a_reply_points_at_the_quoted_message():
    event = parse_one(body_of("reply.json"))
    assert event.reply_to_external_id == WAMID + "DEA"
    assert event.text == "Ja, genau die meine ich — siehe oben"


def test_a_forwarded_message_is_marked_but_replies_to_nothing():
    event = parse_one(body_of("forwarded.json"))
    assert (event.forwarded_from, event.reply_to_external_id) == ("forwarded", None)


def test_a_frequently_forwarded_message_says_so():
    event = parse_one(with_message("forwarded.json", context={"frequently_forwarded": True}))
    assert event.forwarded_from == "forwarded"
    assert event.meta["frequently_forwarded"] is True


def test_an_ad_referral_is_kept_in_meta():
    event = parse_one(body_of("referral.json"))
    assert event.meta["referral"]["source_type"] == "ad"
    assert event.meta["referral"]["ctwa_clid"].startswith("ARAkLkA8rmlF")
    assert event.meta["referral"]["headline"] == "Herbst-Sale −30 %"


# --- statuses --------------------------------------------------------------------------------------------------


def test_statuses_are_reported_as_they_arrive_without_reordering():
    # Given read, delivered and sent for one message in one webhook (out of order), and a "deleted" status
    events = parse(body_of("statuses.json"))
    # Then each is reported with its own time, in the order received; ordering is the store's job
    assert events == [
        DeliveryReceipt(external_id=OUR_REPLY, status="read", at="2026-09-21T14:18:20.000Z", source_id=BSUID),
        DeliveryReceipt(external_id=OUR_REPLY, status="delivered", at="2026-09-21T14:17:20.000Z", source_id=BSUID),
        DeliveryReceipt(external_id=OUR_REPLY, status="sent", at="2026-09-21T14:16:40.000Z", source_id=BSUID),
    ]


def test_a_message_outside_the_24_hour_window_fails_with_a_readable_reason():
    (event,) = parse(body_of("status_failed_131047.json"))
    assert event == DeliveryReceipt(
        external_id="wamid.HBgNNDkxNTExMjM0NTY3OBUCABEYEkxBVEVSRVBMWTAwMDAwMDAwMQA=", status="failed",
        at="2026-09-22T15:13:20.000Z", source_id=WA_ID,
        reason="More than 24 hours have passed since the customer last wrote; WhatsApp only allows a template message "
               "now.")


def test_an_unmapped_failure_quotes_whatsapps_details():
    webhook = webhook_of("status_failed_131047.json")
    error = webhook["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"][0]
    error.update(code=131999, title="Something new", error_data={"details": "A reason Meta invented today."})
    (event,) = parse(webhook)
    assert event.reason == "WhatsApp refused the message: A reason Meta invented today. (code 131999)"


# --- batches, other numbers, other fields ----------------------------------------------------------------------


def test_a_batch_yields_every_message_and_status_of_every_entry_and_change():
    # Given two entries: the first with three messages, a status and an unrelated field; the second for another number
    events = parse(body_of("batch.json"))
    # Then everything is parsed, in order, and the unrelated field is ignored
    assert [(type(e).__name__, e.external_id) for e in events] == [
        ("InboundMessage", WAMID + "BA1"),
        ("InboundMessage", WAMID + "BA2"),
        ("InboundMessage", "wamid.HBgLU0cuODgwMDExMjIzMxUCABIYFDNBQ0MwMDAwMDAwMDAwMDAwMDAA"),
        ("DeliveryReceipt", "wamid.HBgNNDkxNTExMjM0NTY3OBUCABEYEk9VVEdPSU5HMDAwMDAwMDAwMwA="),
        ("InboundMessage", "wamid.HBgNNDkxNzY1NTU1NDQ0NBUCABIYFDNBREQwMDAwMDAwMDAwMDAwMDAA"),
    ]
    assert [e.text for e in events if isinstance(e, InboundMessage)][:2] == ["Erste Nachricht", "Zweite Nachricht"]


@pytest.mark.parametrize(("phone_number_id", "count"), [(PHONE_NUMBER_ID, 4), (OTHER_PHONE_NUMBER_ID, 1)])
def test_with_credentials_only_this_inboxs_phone_number_is_parsed(phone_number_id, count):
    # Given one business account whose numbers are separate inboxes
    credentials = Credentials(webhook_secret="s", extra={"phone_number_id": phone_number_id})
    # When the batch is parsed for one of them
    events = parse(body_of("batch.json"), credentials)
    # Then only that number's events are returned
    assert len(events) == count


def test_a_change_of_another_field_or_without_a_value_is_ignored():
    webhook = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
        {"field": "account_update", "value": {"event": "VERIFIED_ACCOUNT"}},
        {"field": "messages", "value": None},
        {"field": "messages"},
    ]}]}
    assert parse(webhook) == []


# --- Business-app echoes ---------------------------------------------------------------------------------------


def test_a_message_sent_from_the_whatsapp_business_app_is_an_echo_in_the_customers_conversation():
    # Given a message the business typed in the WhatsApp Business app (coexistence), addressed "+<number>"
    event = parse_one(body_of("smb_echo.json"))
    # Then it is stored as outgoing (echo) in the customer's conversation, keyed on their number
    assert event == InboundMessage(
        source_id=WA_ID, external_id="wamid.HBgNNDkxNTExMjM0NTY3OBUCABEYEkFQUEVDSE8wMDAwMDAwMDAxAA==",
        sent_at="2026-09-21T14:28:20.000Z", profile=Profile(phone="+4915112345678"),
        text="Hallo Jürgen, wir prüfen das sofort. – Ihr Nordwind-Team", echo=True, meta={"wa_id": WA_ID},
    )


def test_an_echo_to_a_bsuid_is_keyed_on_the_bsuid():
    webhook = webhook_of("smb_echo.json")
    webhook["entry"][0]["changes"][0]["value"]["message_echoes"][0]["to_user_id"] = BSUID
    assert parse_one(webhook).source_id == BSUID


def test_an_echoed_csat_payload_is_not_a_rating():
    webhook = webhook_of("smb_echo.json")
    echo = webhook["entry"][0]["changes"][0]["value"]["message_echoes"][0]
    echo.update(type="button", button={"payload": "csat:3:conv-1", "text": "Gut"})
    del echo["text"]
    (event,) = parse(webhook)
    assert event.echo is True


# --- send: a fake Graph API on 127.0.0.1 ------------------------------------------------------------------------


def outbound(text: str = "Wir kümmern uns sofort darum.", source_id: str = BSUID, **fields) -> OutboundMessage:
    return OutboundMessage(source_id=source_id, text=text, message_id="msg-01", **fields)


def failure_for(graph_api: FakeGraphApi, message: OutboundMessage | None = None) -> DeliveryFailed:
    with pytest.raises(DeliveryFailed) as caught:
        channel.send(message or outbound(), CREDENTIALS, graph_api.base_url)
    assert TOKEN not in caught.value.detail
    return caught.value


def test_send_posts_text_to_a_bsuid_as_recipient(graph_api):
    # When a reply is sent to a customer known by their business-scoped user id
    result = channel.send(outbound(), CREDENTIALS, graph_api.base_url)
    # Then one message goes to the number's /messages edge, with the token as a Bearer header
    (call,) = graph_api.calls
    assert call.path == f"/v21.0/{PHONE_NUMBER_ID}/messages"
    assert call.headers["authorization"] == f"Bearer {TOKEN}"
    assert call.payload == {"messaging_product": "whatsapp", "recipient_type": "individual", "recipient": BSUID,
                            "type": "text", "text": {"preview_url": False, "body": "Wir kümmern uns sofort darum."}}
    assert result.external_id == "wamid.FAKE0001"


@pytest.mark.parametrize("source_id", [WA_ID, "16505551234"])
def test_send_addresses_a_phone_number_with_to(graph_api, source_id):
    channel.send(outbound(source_id=source_id), CREDENTIALS, graph_api.base_url)
    (payload,) = graph_api.payloads
    assert payload["to"] == source_id and "recipient" not in payload


def test_a_parent_bsuid_is_also_a_recipient(graph_api):
    channel.send(outbound(source_id="US.ENT.11815799212886844830"), CREDENTIALS, graph_api.base_url)
    assert graph_api.payloads[0]["recipient"] == "US.ENT.11815799212886844830"


def test_send_quotes_the_message_it_answers(graph_api):
    channel.send(outbound(reply_to_external_id=WAMID + "DEA"), CREDENTIALS, graph_api.base_url)
    assert graph_api.payloads[0]["context"] == {"message_id": WAMID + "DEA"}


def test_csat_buttons_are_rendered_as_native_reply_buttons(graph_api):
    # Given the CSAT prompt with four options, one label longer than WhatsApp's 20 characters
    buttons = (("\U0001f600 Sehr gut", "csat:3:conv-1"), ("\U0001f610 Geht so", "csat:2:conv-1"),
               ("\U0001f61e Schlecht, überhaupt nicht zufrieden", "csat:1:conv-1"), ("Später", "later"))
    # When it is sent
    channel.send(outbound("Wie zufrieden waren Sie?", buttons=buttons), CREDENTIALS, graph_api.base_url)
    # Then it is one interactive message with the first three as reply buttons, titles cut to fit
    (payload,) = graph_api.payloads
    assert payload["type"] == "interactive"
    assert payload["interactive"] == {
        "type": "button",
        "body": {"text": "Wie zufrieden waren Sie?"},
        "action": {"buttons": [
            {"type": "reply", "reply": {"id": "csat:3:conv-1", "title": "\U0001f600 Sehr gut"}},
            {"type": "reply", "reply": {"id": "csat:2:conv-1", "title": "\U0001f610 Geht so"}},
            {"type": "reply", "reply": {"id": "csat:1:conv-1", "title": "\U0001f61e Schlecht, überhau…"}},
        ]},
    }
    assert len(payload["interactive"]["action"]["buttons"][2]["reply"]["title"]) == 20


def test_an_image_is_sent_by_link_with_the_text_as_its_caption(graph_api):
    image = OutboundAttachment(kind="image", url="https://files.example/presigned/box.jpg?X-Amz-Signature=abc")
    channel.send(outbound("Hier das Foto", attachments=(image,)), CREDENTIALS, graph_api.base_url)
    (payload,) = graph_api.payloads
    assert payload["type"] == "image"
    assert payload["image"] == {"link": image.url, "caption": "Hier das Foto"}


def test_a_file_is_sent_as_a_document_with_its_name_and_only_the_first_gets_the_caption(graph_api):
    pdf = OutboundAttachment(kind="file", url="https://files.example/r.pdf", name="Rechnung.pdf")
    photo = OutboundAttachment(kind="image", url="https://files.example/p.jpg")
    result = channel.send(outbound("Unterlagen", attachments=(pdf, photo)), CREDENTIALS, graph_api.base_url)
    first, second = graph_api.payloads
    assert first["document"] == {"link": pdf.url, "caption": "Unterlagen", "filename": "Rechnung.pdf"}
    assert second["image"] == {"link": photo.url}
    assert result.external_id == "wamid.FAKE0001"


def test_audio_takes_no_caption_so_the_text_goes_first(graph_api):
    audio = OutboundAttachment(kind="audio", url="https://files.example/a.ogg")
    channel.send(outbound("Sprachnachricht anbei", attachments=(audio,), reply_to_external_id=WAMID + "DEA"),
                 CREDENTIALS, graph_api.base_url)
    text, voice = graph_api.payloads
    assert (text["type"], text["text"]["body"], text["context"]) == (
        "text", "Sprachnachricht anbei", {"message_id": WAMID + "DEA"})
    assert voice["audio"] == {"link": audio.url}


def test_buttons_with_an_attachment_come_after_it(graph_api):
    image = OutboundAttachment(kind="image", url="https://files.example/p.jpg")
    message = outbound("Passt das so?", attachments=(image,), buttons=(("Ja", "yes"), ("Nein", "no")))
    channel.send(message, CREDENTIALS, graph_api.base_url)
    media, question = graph_api.payloads
    assert media["image"] == {"link": image.url}
    assert question["type"] == "interactive"


def test_outside_the_24_hour_window_the_failure_says_a_template_is_needed(graph_api):
    graph_api.fail(400, 131047, "(#131047) Re-engagement message", details="Message failed to send because more "
                   "than 24 hours have passed since the customer last replied to this number.")
    error = failure_for(graph_api)
    assert (error.transient, error.unreachable) == (False, False)
    assert error.detail == ("More than 24 hours have passed since the customer last wrote; WhatsApp only allows a "
                            "template message now.")


def test_an_undeliverable_number_is_permanent_and_unreachable(graph_api):
    graph_api.fail(400, 131026, "(#131026) Message Undeliverable")
    error = failure_for(graph_api)
    assert (error.transient, error.unreachable) == (False, True)


@pytest.mark.parametrize(("code", "phrase"), [
    (130429, "throughput limit"), (131056, "pair rate limit"), (80007, "rate-limiting this business account"),
])
def test_rate_limits_are_transient_and_say_when_to_retry(graph_api, code, phrase):
    graph_api.fail(400, code, f"(#{code}) Rate limit hit", headers={"Retry-After": "45"})
    error = failure_for(graph_api)
    assert (error.transient, error.retry_after) == (True, 45.0)
    assert phrase in error.detail


def test_a_rate_limit_without_a_hint_leaves_the_backoff_to_the_retry_policy(graph_api):
    graph_api.fail(400, 130429, "(#130429) Rate limit hit")
    assert failure_for(graph_api).retry_after is None


def test_an_expired_token_asks_to_reconnect_the_number(graph_api):
    graph_api.fail(401, 190, "Error validating access token: Session has expired on Monday, 21-Sep-26")
    error = failure_for(graph_api)
    assert error.transient is False
    assert error.detail == ("The WhatsApp access token has expired or was revoked; reconnect the number in the inbox "
                            "settings.")


def test_an_invalid_parameter_is_permanent_and_says_which(graph_api):
    graph_api.fail(400, 100, "(#100) Invalid parameter", details="Param text['body'] must be at most 4096 characters")
    error = failure_for(graph_api)
    assert error.transient is False
    assert error.detail == "WhatsApp rejected a parameter of the message: Param text['body'] must be at most 4096 " \
                           "characters"


def test_a_server_error_page_is_transient(graph_api):
    graph_api.answer(502, b"<html><body>502 Bad Gateway</body></html>")
    assert failure_for(graph_api).transient is True


def test_an_unreadable_success_is_permanent_because_delivery_is_unknown(graph_api):
    graph_api.answer(200, b"OK")
    error = failure_for(graph_api)
    assert error.transient is False
    assert "may or may not have been delivered" in error.detail


def test_a_later_failure_is_raised_after_the_first_attachment_went_out(graph_api):
    graph_api.answer(200, {"messaging_product": "whatsapp", "messages": [{"id": "wamid.FIRST"}]})
    graph_api.fail(400, 131053, "(#131053) Media upload error", details="Downloading media from weblink failed")
    files = (OutboundAttachment(kind="image", url="https://f/1.jpg"), OutboundAttachment(kind="image", url="https://f/2"))
    error = failure_for(graph_api, outbound(attachments=files))
    assert len(graph_api.calls) == 2
    assert "could not fetch the attachment" in error.detail


def test_an_unreachable_api_is_transient():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DeliveryFailed) as caught:
        channel.send(outbound(), CREDENTIALS, f"http://127.0.0.1:{port}/v21.0")
    assert caught.value.transient is True


@pytest.mark.parametrize(("credentials", "phrase"), [
    (Credentials(webhook_secret="s", extra={"phone_number_id": PHONE_NUMBER_ID}), "no access token"),
    (Credentials(webhook_secret="s", token=TOKEN), "no phone_number_id"),
])
def test_a_misconfigured_inbox_fails_permanently_without_calling_meta(graph_api, credentials, phrase):
    with pytest.raises(DeliveryFailed, match=phrase) as caught:
        channel.send(outbound(), credentials, graph_api.base_url)
    assert caught.value.transient is False
    assert graph_api.calls == []
