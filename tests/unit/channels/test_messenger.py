"""Messenger adapter: ``page`` webhooks (messages, echoes, edits, reactions, reads, deliveries, postbacks, unsends) and
Send API calls against a local fake Graph API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from switchboard.channels.base import Credentials, OutboundAttachment, OutboundMessage, WebhookRequest
from switchboard.channels.messenger import MessengerChannel
from switchboard.domain.errors import BadRequest, DeliveryFailed
from switchboard.domain.inbound import (
    ButtonPressed,
    DeliveryReceipt,
    InboundMessage,
    MessageDeleted,
    MessageEdited,
    ReactionChanged,
)
from switchboard.domain.message import Attachment, AttachmentKind
from tests.support.fake_graph import FakeGraphApi

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "messenger"
RECEIVED_AT = "2026-09-21T18:00:00.000Z"
PAGE_ID = "104888123456789"
PSID = "7012345678901234"
OUR_APP_ID = "3141592653589793"
TOKEN = "EAAG-page-access-token"
CREDENTIALS = Credentials(webhook_secret="meta-app-secret-01", token=TOKEN,
                          extra={"page_id": PAGE_ID, "app_id": OUR_APP_ID, "verify_token": "switchboard-verify-7f3a"})
MID = "m_Gq7yV0sZ3pX1uA9kL2mN4bC6dE8fH0jK2lP4rT6vX8zB1cD3eF5gH7jK9lM1nP3qR5sT7uV9wX1yZ"
channel = MessengerChannel()


def body_of(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def webhook_of(name: str) -> dict:
    return json.loads(body_of(name))


def first_event(webhook: dict) -> dict:
    return webhook["entry"][0]["messaging"][0]


def request(body: bytes | dict) -> WebhookRequest:
    raw = json.dumps(body).encode() if isinstance(body, dict) else body
    return WebhookRequest(method="POST", headers={"content-type": "application/json"}, query={}, body=raw,
                          received_at=RECEIVED_AT)


def parse(body: bytes | dict, credentials: Credentials | None = None) -> list:
    return channel.parse(request(body), credentials)


def parse_one(body: bytes | dict, credentials: Credentials | None = None):
    events = parse(body, credentials)
    assert len(events) == 1, events
    return events[0]


def test_capabilities():
    caps = channel.capabilities
    assert (channel.name, caps.can_edit, caps.can_delete, caps.read_receipts) == ("messenger", False, False, True)
    assert (caps.buttons, caps.max_text_length, caps.reply_window_hours) == (13, 2000, 24)


# --- messages --------------------------------------------------------------------------------------------------


def test_a_text_message_from_a_page_scoped_id():
    # Given a text with accents and an emoji sent as \u escapes; Messenger sends no name (a profile lookup is needed)
    # When it is parsed
    event = parse_one(body_of("text.json"))
    # Then it is keyed by the PSID and the mid, timed to the millisecond
    assert event == InboundMessage(
        source_id=PSID, external_id=MID + "01", sent_at="2026-09-21T14:13:20.123Z",
        text="Bonjour, je n'arrive pas à me connecter à mon compte \U0001f615",
    )


def test_attachments_keep_their_kind_and_url_in_order():
    event = parse_one(body_of("attachments.json"))
    assert event.text == ""
    assert [(a.kind, a.ref.split("?")[0].rsplit("/", 1)[1]) for a in event.attachments] == [
        (AttachmentKind.IMAGE, "photo_1.jpg"),
        (AttachmentKind.FILE, "facture_2231.pdf"),
        (AttachmentKind.AUDIO, "audioclip-1790000000.mp4"),
        (AttachmentKind.VIDEO, "colis.mp4"),
    ]


def test_a_sticker_sent_as_both_sticker_and_image_is_one_sticker():
    # Given Meta's transition payload: the same sticker as a ``sticker`` and an ``image`` attachment
    event = parse_one(body_of("sticker.json"))
    # Then it is a single sticker attachment
    assert event.attachments == (
        Attachment(kind=AttachmentKind.STICKER, ref="https://scontent.xx.fbcdn.net/v/t39.1997-6/like.png",
                   meta={"sticker_id": 369239263222822}),
    )


def test_a_legacy_sticker_image_is_a_sticker():
    webhook = webhook_of("sticker.json")
    del first_event(webhook)["message"]["attachments"][0]
    assert parse_one(webhook).attachments[0].kind is AttachmentKind.STICKER


def test_a_location():
    (attachment,) = parse_one(body_of("location.json")).attachments
    assert attachment == Attachment(kind=AttachmentKind.LOCATION, name="Point relais Bastille",
                                    meta={"latitude": 48.853, "longitude": 2.369})


def test_a_shared_link_shows_its_url_and_keeps_the_share_in_meta():
    event = parse_one(body_of("fallback.json"))
    url = "https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345678901"
    assert (event.text, event.attachments) == (url, ())
    assert event.meta == {"shared": [{"type": "fallback", "title": "Suivi de colis – La Poste", "url": url}]}


def test_a_template_card_is_kept_as_a_share():
    webhook = webhook_of("fallback.json")
    first_event(webhook)["message"]["attachments"] = [
        {"type": "template", "payload": {"template_type": "generic", "title": "Commande #2231"}}]
    event = parse_one(webhook)
    assert event.meta["shared"] == [{"type": "template", "title": "Commande #2231", "template_type": "generic"}]


def test_an_attachment_type_we_do_not_know_is_shown_as_unsupported():
    webhook = webhook_of("fallback.json")
    first_event(webhook)["message"]["attachments"] = [{"type": "hologram", "payload": {"url": "https://x"}}]
    event = parse_one(webhook)
    assert (event.text, event.meta) == ("unsupported message type: hologram", {"unsupported": "hologram"})


def test_a_message_without_content_is_shown_as_unsupported():
    webhook = webhook_of("text.json")
    del first_event(webhook)["message"]["text"]
    assert parse_one(webhook).text == "unsupported message type: unknown"


def test_a_csat_quick_reply_is_a_message_and_a_rating():
    message, pressed = parse(body_of("quick_reply.json"))
    assert message == InboundMessage(
        source_id=PSID, external_id=MID + "06", sent_at="2026-09-21T14:13:25.123Z", text="\U0001f642 Bien",
        meta={"button_id": "csat:2:conv-01J9A7Q2R8", "button_kind": "quick_reply"})
    assert pressed == ButtonPressed(source_id=PSID, event_id=MID + "06", data="csat:2:conv-01J9A7Q2R8",
                                    at="2026-09-21T14:13:25.123Z")


def test_another_quick_reply_is_only_a_message():
    webhook = webhook_of("quick_reply.json")
    first_event(webhook)["message"]["quick_reply"]["payload"] = "TALK_TO_SALES"
    assert parse_one(webhook).meta == {"button_id": "TALK_TO_SALES", "button_kind": "quick_reply"}


def test_a_reply_points_at_the_quoted_message():
    event = parse_one(body_of("reply_to.json"))
    assert (event.text, event.reply_to_external_id) == ("Oui, celle-ci", MID + "01")


def test_a_message_without_a_mid_is_a_bad_request():
    webhook = webhook_of("text.json")
    del first_event(webhook)["message"]["mid"]
    with pytest.raises(BadRequest, match=r"messaging\.message\.mid"):
        parse(webhook)


def test_an_event_without_a_sender_is_a_bad_request():
    webhook = webhook_of("text.json")
    del first_event(webhook)["sender"]
    with pytest.raises(BadRequest, match=r"messaging\.sender"):
        parse(webhook)


# --- echoes ----------------------------------------------------------------------------------------------------


def test_a_reply_typed_in_the_page_inbox_is_an_echo_in_the_customers_conversation():
    # Given an echo of a message a human sent from Meta Business Suite (another app): sender Page, recipient customer
    event = parse_one(body_of("echo_page_inbox.json"), CREDENTIALS)
    # Then it is stored as outgoing in the customer's (the recipient's) conversation
    assert event == InboundMessage(
        source_id=PSID, external_id=MID + "08", sent_at="2026-09-21T14:13:27.123Z",
        text="Bonjour Camille, je regarde cela tout de suite.", echo=True, meta={"app_id": "9990001112223334"})


def test_an_echo_of_what_our_own_app_sent_is_ignored():
    # Given the echo of a reply Switchboard itself sent (our app id): we stored it when send() returned
    # When / Then it is dropped, so the conversation does not show the reply twice
    assert parse(body_of("echo_ours.json"), CREDENTIALS) == []


def test_without_credentials_our_own_echo_cannot_be_recognised_and_is_kept_as_an_echo():
    event = parse_one(body_of("echo_ours.json"))
    assert event.echo is True
    assert event.meta == {"metadata": "switchboard:msg-01", "app_id": OUR_APP_ID}


# --- edits, reactions, unsends ---------------------------------------------------------------------------------


def test_an_edit():
    assert parse_one(body_of("edit.json")) == MessageEdited(
        source_id=PSID, external_id=MID + "01", edited_at="2026-09-21T14:13:29.123Z",
        text="Bonjour, je n'arrive toujours pas à me connecter")


def test_a_reaction_and_its_removal():
    reacted = parse_one(body_of("reaction.json"))
    removed = parse_one(body_of("unreact.json"))
    assert isinstance(reacted, ReactionChanged) and isinstance(removed, ReactionChanged)
    assert (reacted.source_id, reacted.external_id, reacted.emoji, reacted.at) == (
        PSID, MID + "09", "\u2764\ufe0f", "2026-09-21T14:13:30.123Z")
    assert (removed.external_id, removed.emoji) == (MID + "09", None)
    assert reacted.event_id and removed.event_id and reacted.event_id != removed.event_id


def test_reaction_event_ids_are_stable_across_retries():
    assert parse_one(body_of("reaction.json")).event_id == parse_one(body_of("reaction.json")).event_id


def test_an_unsent_message_is_deleted():
    assert parse_one(body_of("unsend.json")) == MessageDeleted(source_id=PSID, external_id=MID + "07",
                                                               at="2026-09-21T14:13:35.123Z")


# --- reads and deliveries --------------------------------------------------------------------------------------


def test_a_read_watermark_covers_everything_sent_before_it():
    # Given a read receipt, which Messenger sends as "everything before this time" and not per message
    event = parse_one(body_of("read.json"))
    # Then the receipt names the watermark instead of a message id
    assert event == DeliveryReceipt(external_id="*before:2026-09-21T14:13:31.623Z", status="read",
                                    at="2026-09-21T14:13:32.123Z", source_id=PSID)


def test_a_delivery_names_each_message_delivered():
    events = parse(body_of("delivery.json"))
    assert events == [
        DeliveryReceipt(external_id=MID + "08", status="delivered", at="2026-09-21T14:13:28.623Z", source_id=PSID),
        DeliveryReceipt(external_id=MID + "09", status="delivered", at="2026-09-21T14:13:28.623Z", source_id=PSID),
    ]


def test_a_delivery_without_mids_falls_back_to_the_watermark():
    webhook = webhook_of("delivery.json")
    del first_event(webhook)["delivery"]["mids"]
    assert parse_one(webhook).external_id == "*before:2026-09-21T14:13:28.623Z"


def test_a_read_without_a_watermark_says_nothing():
    webhook = webhook_of("read.json")
    first_event(webhook)["read"] = {}
    assert parse(webhook) == []


# --- postbacks and other events --------------------------------------------------------------------------------


def test_a_postback_is_a_button_press_and_a_line_with_its_title():
    pressed, message = parse(body_of("postback.json"))
    assert pressed == ButtonPressed(source_id=PSID, event_id=MID + "10", data="HANDOFF_AGENT",
                                    at="2026-09-21T14:13:33.123Z")
    assert message == InboundMessage(source_id=PSID, external_id=MID + "10", sent_at="2026-09-21T14:13:33.123Z",
                                     text="Parler à un humain",
                                     meta={"button_id": "HANDOFF_AGENT", "button_kind": "postback"})


def test_a_postback_without_a_mid_gets_a_stable_id():
    webhook = webhook_of("postback.json")
    del first_event(webhook)["postback"]["mid"]
    pressed, message = parse(webhook)
    again, _ = parse(webhook)
    assert pressed.event_id == message.external_id == again.event_id
    assert len(pressed.event_id) == 24


@pytest.mark.parametrize("name", ["optin.json", "standby.json"])
def test_opt_ins_and_standby_threads_are_ignored(name):
    assert parse(body_of(name)) == []


def test_a_batch_yields_every_entry_and_credentials_keep_other_pages_out():
    # Given four entries, the last for another Page of the same app
    everything = parse(body_of("batch.json"))
    ours = parse(body_of("batch.json"), CREDENTIALS)
    # Then all are parsed without credentials, and only this Page's with them
    assert [e.external_id for e in everything] == [MID + "21", MID + "22", "*before:2026-09-21T14:13:39.123Z",
                                                   MID + "23"]
    assert [e.external_id for e in ours] == [MID + "21", MID + "22", "*before:2026-09-21T14:13:39.123Z"]
    assert [e.text for e in ours[:2]] == ["Premier", "Deuxième"]


# --- send: a fake Graph API on 127.0.0.1 ------------------------------------------------------------------------


def outbound(text: str = "Nous regardons cela tout de suite.", **fields) -> OutboundMessage:
    return OutboundMessage(source_id=PSID, text=text, message_id="msg-01", **fields)


def failure_for(graph_api: FakeGraphApi) -> DeliveryFailed:
    with pytest.raises(DeliveryFailed) as caught:
        channel.send(outbound(), CREDENTIALS, graph_api.base_url)
    assert TOKEN not in caught.value.detail
    return caught.value


def test_send_posts_the_text_with_the_page_token_as_a_bearer_header(graph_api):
    result = channel.send(outbound(), CREDENTIALS, graph_api.base_url)
    (call,) = graph_api.calls
    assert call.path == "/v21.0/me/messages"  # never ?access_token=: URLs end up in logs
    assert call.headers["authorization"] == f"Bearer {TOKEN}"
    assert call.payload == {"recipient": {"id": PSID}, "messaging_type": "RESPONSE",
                            "message": {"text": "Nous regardons cela tout de suite."}}
    assert result.external_id == "m_FAKE0001"


def test_csat_buttons_are_rendered_as_quick_replies(graph_api):
    buttons = (("\U0001f600 Très bien", "csat:3:conv-1"), ("\U0001f610 Moyen", "csat:2:conv-1"),
               ("\U0001f61e Pas du tout satisfait, vraiment", "csat:1:conv-1"))
    channel.send(outbound("Êtes-vous satisfait ?", buttons=buttons), CREDENTIALS, graph_api.base_url)
    (payload,) = graph_api.payloads
    assert payload["message"] == {"text": "Êtes-vous satisfait ?", "quick_replies": [
        {"content_type": "text", "title": "\U0001f600 Très bien", "payload": "csat:3:conv-1"},
        {"content_type": "text", "title": "\U0001f610 Moyen", "payload": "csat:2:conv-1"},
        {"content_type": "text", "title": "\U0001f61e Pas du tout satis…", "payload": "csat:1:conv-1"},
    ]}


def test_at_most_thirteen_quick_replies_are_sent(graph_api):
    buttons = tuple((f"Option {n}", f"opt:{n}") for n in range(20))
    channel.send(outbound(buttons=buttons), CREDENTIALS, graph_api.base_url)
    assert len(graph_api.payloads[0]["message"]["quick_replies"]) == 13


def test_an_attachment_is_sent_by_link_before_the_text_which_carries_the_buttons(graph_api):
    pdf = OutboundAttachment(kind="file", url="https://files.example/presigned/facture.pdf?X-Amz-Signature=abc")
    result = channel.send(outbound("Voici la facture", attachments=(pdf,), buttons=(("Merci", "thanks"),)),
                          CREDENTIALS, graph_api.base_url)
    attachment, text = graph_api.payloads
    assert attachment["message"] == {"attachment": {"type": "file", "payload": {"url": pdf.url, "is_reusable": False}}}
    assert text["message"]["text"] == "Voici la facture"
    assert text["message"]["quick_replies"][0]["payload"] == "thanks"
    assert result.external_id == "m_FAKE0001"


def test_an_attachment_alone_carries_the_buttons(graph_api):
    image = OutboundAttachment(kind="image", url="https://files.example/p.jpg")
    channel.send(outbound("", attachments=(image,), buttons=(("Oui", "yes"),)), CREDENTIALS, graph_api.base_url)
    (payload,) = graph_api.payloads
    assert payload["message"]["attachment"]["type"] == "image"
    assert payload["message"]["quick_replies"] == [{"content_type": "text", "title": "Oui", "payload": "yes"}]


def test_the_send_api_cannot_quote_so_the_reply_is_sent_plain(graph_api):
    channel.send(outbound(reply_to_external_id=MID + "01"), CREDENTIALS, graph_api.base_url)
    assert graph_api.payloads[0]["message"] == {"text": "Nous regardons cela tout de suite."}


def test_an_empty_reply_is_refused_without_calling_meta(graph_api):
    with pytest.raises(DeliveryFailed, match="needs text or an attachment") as caught:
        channel.send(outbound(""), CREDENTIALS, graph_api.base_url)
    assert caught.value.transient is False
    assert graph_api.calls == []


def test_outside_the_24_hour_window_the_failure_says_a_tag_or_a_new_message_is_needed(graph_api):
    graph_api.fail(400, 10, "(#10) This message is sent outside of allowed window.", subcode=2018278)
    error = failure_for(graph_api)
    assert (error.transient, error.unreachable) == (False, False)
    assert error.detail == ("More than 24 hours since the customer wrote; Messenger needs a message tag or a new "
                            "message from them.")


def test_an_unavailable_customer_is_unreachable(graph_api):
    graph_api.fail(400, 551, "This person isn't available right now.", subcode=1545041)
    error = failure_for(graph_api)
    assert (error.transient, error.unreachable) == (False, True)


def test_an_unknown_customer_is_unreachable(graph_api):
    graph_api.fail(400, 100, "(#100) No matching user found", subcode=2018001)
    assert failure_for(graph_api).unreachable is True


@pytest.mark.parametrize("code", [4, 613, 32])
def test_rate_limits_are_transient(graph_api, code):
    usage = json.dumps({PAGE_ID: [{"type": "messenger", "call_count": 100, "estimated_time_to_regain_access": 2}]})
    graph_api.fail(400, code, f"(#{code}) Calls to this api have exceeded the rate limit.",
                   headers={"X-Business-Use-Case-Usage": usage})
    error = failure_for(graph_api)
    assert (error.transient, error.retry_after) == (True, 120.0)


def test_a_temporary_send_failure_is_retried(graph_api):
    graph_api.fail(500, 1200, "Temporary send message failure. Please try again later")
    assert failure_for(graph_api).transient is True


def test_an_expired_page_token_asks_to_reconnect_the_page(graph_api):
    graph_api.fail(400, 190, "Error validating access token: The session has been invalidated.", subcode=460)
    error = failure_for(graph_api)
    assert error.transient is False
    assert error.detail == "The Page access token has expired or was revoked; reconnect the Page in the inbox settings."


def test_a_server_error_is_transient(graph_api):
    graph_api.answer(503, b"Service Unavailable")
    assert failure_for(graph_api).transient is True


def test_a_missing_permission_is_permanent_and_says_so(graph_api):
    graph_api.fail(403, 200, "(#200) Requires pages_messaging permission to manage the object")
    error = failure_for(graph_api)
    assert error.transient is False
    assert "lacks the permission" in error.detail and "pages_messaging" in error.detail


def test_an_inbox_without_a_token_fails_without_calling_meta(graph_api):
    with pytest.raises(DeliveryFailed, match="no access token"):
        channel.send(outbound(), Credentials(webhook_secret="s"), graph_api.base_url)
    assert graph_api.calls == []
