"""Twilio adapter: X-Twilio-Signature, incoming SMS/WhatsApp and status-callback parsing, and the Messages API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import socket
import urllib.parse
from dataclasses import replace
from pathlib import Path

import pytest

from switchboard.channels.base import Credentials, OutboundAttachment, OutboundMessage, WebhookRequest
from switchboard.channels.twilio import ACK, TwilioChannel, render_buttons, signature
from switchboard.domain.errors import BadRequest, DeliveryFailed, Unauthorized
from switchboard.domain.inbound import ButtonPressed, DeliveryReceipt, InboundMessage, Profile, ReachabilityChanged
from switchboard.domain.message import Attachment, AttachmentKind
from tests.support.fake_twilio import FakeTwilioApi

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "twilio"
RECEIVED_AT = "2026-09-01T12:00:00.000Z"
AUTH_TOKEN = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
ACCOUNT_SID = "AC7d1e5f3a9b2c4d6e8f0a1b3c5d7e9f2a"
URL = "https://inbox.example.com/webhooks/twilio/inbox-7"
CUSTOMER = "+447700900123"
SMS_CREDENTIALS = Credentials(webhook_secret=AUTH_TOKEN,
                              extra={"account_sid": ACCOUNT_SID, "from": "+13125550177",
                                     "status_callback_url": URL + "?kind=status"})
WHATSAPP_CREDENTIALS = Credentials(webhook_secret=AUTH_TOKEN,
                                   extra={"account_sid": ACCOUNT_SID, "from": "whatsapp:+13125550188"})
FORM = "application/x-www-form-urlencoded; charset=UTF-8"
channel = TwilioChannel()
# The fake API fixture, until tests/conftest.py lists tests.support.fake_twilio in pytest_plugins.


def body_of(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def pairs_of(name: str) -> list[tuple[str, str]]:
    return urllib.parse.parse_qsl(body_of(name).decode(), keep_blank_values=True)


def changed(name: str, drop: tuple[str, ...] = (), **values: str) -> bytes:
    """A fixture with some parameters replaced, added or removed."""
    pairs = [(key, value) for key, value in pairs_of(name) if key not in values and key not in drop]
    return urllib.parse.urlencode(pairs + list(values.items())).encode()


def webhook(body: bytes, *, url: str = URL, token: str = AUTH_TOKEN, sign: bool = True,
            content_type: str = FORM) -> WebhookRequest:
    headers = {"content-type": content_type}
    if sign:
        pairs = urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)
        headers["x-twilio-signature"] = signature(url, pairs, token)
    return WebhookRequest(method="POST", headers=headers, query={}, body=body, received_at=RECEIVED_AT,
                          public_url=url)


def parse(body: bytes) -> list:
    return channel.parse(webhook(body))


def parse_one(body: bytes):
    events = parse(body)
    assert len(events) == 1, events
    return events[0]


# --- signature -------------------------------------------------------------------------------------------------


def test_the_documented_example_signature():
    # Given Twilio's worked example from its webhook security docs (auth token 12345)
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675310"), ("Digits", "1234"),
              ("From", "+14158675310"), ("To", "+18005551212")]
    # When / Then the signature is the one Twilio documents, whatever order the parameters came in
    assert signature(url, params, "12345") == "GvWf1cFY/Q7PnoempGyD5oXAezc="
    assert signature(url, list(reversed(params)), "12345") == "GvWf1cFY/Q7PnoempGyD5oXAezc="


def test_the_signature_covers_the_query_string_and_every_value_of_a_repeated_parameter():
    # Given a URL with a query string and a form in which one name occurs twice
    url = URL + "?kind=sms&region=eu"
    body = b"To=%2B13125550177&MediaUrl=https%3A%2F%2Fb.example%2F2&Body=hi+there&MediaUrl=https%3A%2F%2Fa.example%2F1"
    # When the expected value is computed by hand: URL, then names sorted, each value (decoded, sorted) appended
    data = (url + "Body" + "hi there" + "MediaUrl" + "https://a.example/1" + "MediaUrl" + "https://b.example/2"
            + "To" + "+13125550177")
    expected = base64.b64encode(hmac.new(AUTH_TOKEN.encode(), data.encode(), hashlib.sha1).digest()).decode()
    # Then the adapter accepts exactly that signature, and not one computed without the query string
    request = WebhookRequest(method="POST", headers={"content-type": FORM, "x-twilio-signature": expected},
                             query={"kind": "sms", "region": "eu"}, body=body, received_at=RECEIVED_AT,
                             public_url=url)
    channel.verify(request, SMS_CREDENTIALS)
    with pytest.raises(Unauthorized):
        channel.verify(replace(request, public_url=URL), SMS_CREDENTIALS)


def test_a_correctly_signed_webhook_is_accepted():
    assert channel.verify(webhook(body_of("sms_inbound.txt")), SMS_CREDENTIALS) is None


def test_a_signature_made_with_another_auth_token_is_unauthorized():
    # Given a STOP signed with the wrong auth token (a forgery must never unsubscribe anyone)
    request = webhook(body_of("sms_stop.txt"), token="wrong-secret")
    # When / Then it is rejected
    with pytest.raises(Unauthorized, match="does not match"):
        channel.verify(request, SMS_CREDENTIALS)


def test_a_tampered_parameter_is_unauthorized():
    tampered = replace(webhook(body_of("sms_inbound.txt")), body=changed("sms_inbound.txt", Body="Please refund me"))
    with pytest.raises(Unauthorized, match="does not match"):
        channel.verify(tampered, SMS_CREDENTIALS)


def test_a_signature_over_another_url_is_unauthorized():
    request = replace(webhook(body_of("sms_inbound.txt"), url="http://inbox.example.com/webhooks/twilio/inbox-7"),
                      public_url=URL)
    with pytest.raises(Unauthorized, match="URL"):
        channel.verify(request, SMS_CREDENTIALS)


@pytest.mark.parametrize(("signed_url", "public_url"), [
    ("https://inbox.example.com:443/webhooks/twilio/inbox-7", URL),
    (URL, "https://inbox.example.com:443/webhooks/twilio/inbox-7"),
])
def test_the_default_port_may_be_in_either_url(signed_url, public_url):
    # Twilio signs the URL as it was configured, with or without :443; its own SDKs accept both
    request = replace(webhook(body_of("sms_inbound.txt"), url=signed_url), public_url=public_url)
    channel.verify(request, SMS_CREDENTIALS)


def test_a_missing_signature_is_unauthorized():
    with pytest.raises(Unauthorized, match="no X-Twilio-Signature"):
        channel.verify(webhook(body_of("sms_inbound.txt"), sign=False), SMS_CREDENTIALS)


def test_an_inbox_without_an_auth_token_trusts_nothing():
    with pytest.raises(Unauthorized, match="no auth token configured"):
        channel.verify(webhook(body_of("sms_inbound.txt"), token=""), Credentials(webhook_secret=""))


def test_without_the_public_url_nothing_can_be_checked():
    request = replace(webhook(body_of("sms_inbound.txt")), public_url="")
    with pytest.raises(Unauthorized, match="public URL is unknown"):
        channel.verify(request, SMS_CREDENTIALS)


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", ""])
def test_a_body_that_is_not_a_form_is_a_bad_request(content_type):
    request = webhook(b'{"MessageSid": "SM1"}', sign=False, content_type=content_type)
    with pytest.raises(BadRequest, match="application/x-www-form-urlencoded"):
        channel.verify(request, SMS_CREDENTIALS)
    with pytest.raises(BadRequest, match="application/x-www-form-urlencoded"):
        channel.parse(request)


@pytest.mark.parametrize("body", [b"\xff\xfe", b"Body", b"a=1&&=2&b"])
def test_a_malformed_form_is_a_bad_request(body):
    with pytest.raises(BadRequest, match="not a valid form body"):
        channel.parse(webhook(body, sign=False))


def test_a_form_without_a_message_sid_is_a_bad_request():
    with pytest.raises(BadRequest, match="MessageSid"):
        parse(changed("sms_inbound.txt", drop=("MessageSid", "SmsMessageSid", "SmsSid")))


def test_an_incoming_message_without_a_sender_is_a_bad_request():
    with pytest.raises(BadRequest, match="'From'"):
        parse(changed("sms_inbound.txt", drop=("From",)))


def test_there_is_no_handshake_and_the_acknowledgement_is_empty_twiml():
    assert channel.handshake(webhook(b""), SMS_CREDENTIALS) is None
    assert channel.acknowledgement() == ACK
    assert (ACK.status, ACK.content_type) == (200, "text/xml")
    assert ACK.body == '<?xml version="1.0" encoding="UTF-8"?><Response/>'


# --- parse: incoming messages ----------------------------------------------------------------------------------


def test_an_incoming_sms():
    # Given an SMS (no timestamp in Twilio's webhook, no name for SMS senders)
    event = parse_one(body_of("sms_inbound.txt"))
    # Then it is one message from the number, keyed by MessageSid and dated at receipt
    assert event == InboundMessage(
        source_id=CUSTOMER,
        external_id="SM3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c",
        sent_at=RECEIVED_AT,
        profile=Profile(phone=CUSTOMER),
        text="Hi - my parcel PV-4471 still hasn't arrived, can you check? Thanks, Amelia \U0001f64f",
        meta={"address_type": "sms", "to": "+13125550177"},
    )


def test_an_mms_keeps_each_media_url_and_type():
    event = parse_one(body_of("mms_inbound.txt"))
    base = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d/Media"
    assert event.text == "Photos of the damaged box"
    assert event.attachments == (
        Attachment(kind=AttachmentKind.IMAGE, ref=f"{base}/ME1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d", mime="image/jpeg"),
        Attachment(kind=AttachmentKind.FILE, ref=f"{base}/ME2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e", mime="application/pdf"),
    )


@pytest.mark.parametrize(("mime", "address", "kind"), [
    ("video/mp4", "+447700900123", AttachmentKind.VIDEO),
    ("audio/amr", "+447700900123", AttachmentKind.AUDIO),
    ("audio/ogg", "+447700900123", AttachmentKind.AUDIO),
    ("audio/ogg", "whatsapp:+447700900123", AttachmentKind.VOICE),
    ("image/webp", "whatsapp:+447700900123", AttachmentKind.STICKER),
    ("image/webp", "+447700900123", AttachmentKind.IMAGE),
    ("text/vcard", "+447700900123", AttachmentKind.CONTACT),
    ("application/octet-stream", "+447700900123", AttachmentKind.FILE),
])
def test_the_media_type_decides_the_attachment_kind(mime, address, kind):
    body = changed("mms_inbound.txt", NumMedia="1", MediaContentType0=mime, From=address)
    assert parse_one(body).attachments[0].kind is kind


def test_a_whatsapp_message_strips_the_prefix_and_keeps_the_profile_name():
    # Given a WhatsApp message via Twilio
    event = parse_one(body_of("whatsapp_inbound.txt"))
    # Then the identity is the bare number, the channel is kept in meta, and the profile has the WhatsApp name
    assert event.source_id == CUSTOMER
    assert event.profile == Profile(name="Amelia Hart", phone=CUSTOMER)
    assert event.meta == {"address_type": "whatsapp", "to": "whatsapp:+13125550188", "wa_id": "447700900123"}
    assert event.text == "Hello! Is the pickup point on Elm Street open on Sundays?"


def test_a_whatsapp_voice_note():
    (attachment,) = parse_one(body_of("whatsapp_voice.txt")).attachments
    assert (attachment.kind, attachment.mime) == (AttachmentKind.VOICE, "audio/ogg")
    assert attachment.ref.endswith("/Media/ME3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f")


def test_a_whatsapp_location():
    event = parse_one(body_of("whatsapp_location.txt"))
    assert event.text == ""
    assert event.attachments == (
        Attachment(kind=AttachmentKind.LOCATION, name="Trafalgar Square",
                   meta={"latitude": 51.5072, "longitude": -0.1276, "address": "Trafalgar Square, London WC2N 5DN",
                         "label": "Trafalgar Square"}),
    )


def test_a_location_with_unreadable_coordinates_is_not_an_attachment():
    event = parse_one(changed("whatsapp_location.txt", Latitude="north"))
    assert event.attachments == ()
    assert event.text == "unsupported message type: location"


def test_a_reply_points_at_the_quoted_message():
    event = parse_one(changed("whatsapp_inbound.txt", OriginalRepliedMessageSid="SMb1a0c9d8e7f6a5b4c3d2e1f0a9b8c7d6"))
    assert event.reply_to_external_id == "SMb1a0c9d8e7f6a5b4c3d2e1f0a9b8c7d6"


def test_a_csat_quick_reply_is_a_message_and_a_button_press():
    # Given a tap on a quick-reply button whose payload is our CSAT data
    message, press = parse(body_of("whatsapp_button.txt"))
    # Then the tap is stored as the customer's message and also recorded as a button press
    assert message.text == "Great"
    assert message.meta["button_payload"] == "csat:3:conv-01JD2K"
    assert press == ButtonPressed(
        source_id=CUSTOMER,
        event_id="SMa09b8c7d6e5f4a3b2c1d0e9f8a7b6c5d",
        data="csat:3:conv-01JD2K",
        at=RECEIVED_AT,
        on_external_id="SMb1a0c9d8e7f6a5b4c3d2e1f0a9b8c7d6",
        profile=Profile(name="Amelia Hart", phone=CUSTOMER),
    )


def test_a_quick_reply_that_is_not_csat_is_only_a_message():
    events = parse(changed("whatsapp_button.txt", ButtonPayload="track-order"))
    assert [type(event) for event in events] == [InboundMessage]
    assert events[0].meta["button_payload"] == "track-order"


def test_a_digit_reply_to_the_csat_prompt_is_just_a_message():
    # Matching "2" to the prompt that was sent is the service's job
    events = parse(changed("sms_inbound.txt", Body="2"))
    assert [type(event) for event in events] == [InboundMessage]


def test_click_to_whatsapp_referral_data_is_kept():
    event = parse_one(body_of("whatsapp_referral.txt"))
    assert event.meta["referral"] == {
        "SourceId": "120210000000000000", "SourceType": "ad", "SourceUrl": "https://fb.me/3nWxyZab",
        "Headline": "Same-day delivery in London", "Body": "Order before noon",
        "CtwaClid": "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7Jw",
    }


def test_an_empty_message_is_shown_as_unsupported():
    event = parse_one(changed("whatsapp_inbound.txt", Body="", MessageType="interactive"))
    assert (event.text, event.meta["unsupported"]) == ("unsupported message type: interactive", "interactive")


# --- parse: opt-out keywords -----------------------------------------------------------------------------------


def test_stop_is_stored_and_makes_the_customer_unreachable():
    # Given a STOP reported by Advanced Opt-Out
    message, reachability = parse(body_of("sms_stop.txt"))
    # Then the message is kept (the conversation shows why the customer went quiet) and sending stops
    assert message.text == "Stop"
    assert message.meta["opt_out"] == "STOP"
    assert reachability == ReachabilityChanged(source_id=CUSTOMER, reachable=False, at=RECEIVED_AT,
                                               profile=Profile(phone=CUSTOMER))


def test_start_makes_the_customer_reachable_again():
    message, reachability = parse(body_of("sms_start.txt"))
    assert message.meta["opt_out"] == "START"
    assert reachability.reachable is True


def test_help_is_only_a_message():
    events = parse(changed("sms_inbound.txt", Body="HELP", OptOutType="HELP"))
    assert [type(event) for event in events] == [InboundMessage]
    assert events[0].meta["opt_out"] == "HELP"


@pytest.mark.parametrize(("body", "reachable"), [
    ("STOP", False), (" unsubscribe ", False), ("Quit", False), ("stopall", False), ("start", True), ("UNSTOP", True),
])
def test_default_sms_keywords_work_without_advanced_opt_out(body, reachable):
    # Twilio blocks the number on these keywords even when no OptOutType parameter is sent
    events = parse(changed("sms_inbound.txt", Body=body))
    assert isinstance(events[-1], ReachabilityChanged)
    assert events[-1].reachable is reachable


@pytest.mark.parametrize("body", ["Please stop calling me", "stop!"])
def test_a_keyword_inside_a_sentence_is_just_a_message(body):
    assert [type(event) for event in parse(changed("sms_inbound.txt", Body=body))] == [InboundMessage]


def test_stop_on_whatsapp_is_just_a_word():
    assert [type(event) for event in parse(changed("whatsapp_inbound.txt", Body="STOP"))] == [InboundMessage]


# --- parse: status callbacks -----------------------------------------------------------------------------------


def test_a_delivered_status_callback():
    # Given Twilio's status callback for one of our SMS, with the carrier's completion time
    event = parse_one(body_of("status_delivered.txt"))
    # Then it is a receipt for that message
    assert event == DeliveryReceipt(external_id="SMd3c2e1f0a9b8c7d6e5f4a3b2c1d0e9f8", status="delivered",
                                    at="2026-09-01T10:04:00.000Z", source_id=CUSTOMER)


@pytest.mark.parametrize("raw", ["2609011304", "not-a-date", ""])
def test_an_implausible_carrier_time_falls_back_to_receipt_time(raw):
    assert parse_one(changed("status_delivered.txt", RawDlrDoneDate=raw)).at == RECEIVED_AT


@pytest.mark.parametrize(("status", "mapped"), [("sent", "sent"), ("delivered", "delivered"), ("read", "read")])
def test_progress_statuses(status, mapped):
    event = parse_one(changed("status_delivered.txt", drop=("RawDlrDoneDate",), MessageStatus=status))
    assert (event.status, event.reason) == (mapped, None)


@pytest.mark.parametrize("status", ["queued", "accepted", "sending", "scheduled", "partially_delivered"])
def test_statuses_before_sending_are_ignored(status):
    assert parse(changed("status_delivered.txt", MessageStatus=status)) == []


def test_a_whatsapp_read_receipt_names_the_bare_number():
    event = parse_one(body_of("status_read.txt"))
    assert (event.status, event.source_id) == ("read", CUSTOMER)


@pytest.mark.parametrize(("code", "reason"), [
    ("30003", "The phone is switched off or unreachable."),
    ("30004", "The recipient blocked messages."),
    ("30005", "Unknown or inactive number."),
    ("30006", "Landline or unreachable carrier."),
    ("30007", "Filtered by the carrier as spam."),
    ("63016", "Outside WhatsApp's 24-hour window: a template is needed."),
])
def test_failures_carry_a_readable_reason(code, reason):
    for status in ("undelivered", "failed"):
        event = parse_one(changed("status_undelivered.txt", MessageStatus=status, ErrorCode=code))
        assert (event.status, event.reason) == ("failed", reason)


def test_a_failure_because_the_customer_unsubscribed_also_makes_them_unreachable():
    receipt, reachability = parse(changed("status_undelivered.txt", MessageStatus="failed", ErrorCode="21610"))
    assert receipt.reason == "The customer replied STOP and unsubscribed."
    assert reachability == ReachabilityChanged(source_id=CUSTOMER, reachable=False, at=RECEIVED_AT)


def test_an_unknown_error_code_points_at_twilios_docs():
    event = parse_one(changed("status_undelivered.txt", ErrorCode="30410"))
    assert event.reason == "Twilio error 30410 (see https://www.twilio.com/docs/api/errors/30410)."


def test_a_failure_without_a_code_still_says_so():
    event = parse_one(changed("status_undelivered.txt", drop=("ErrorCode",)))
    assert event.reason == "Twilio could not deliver the message and gave no reason."


def test_a_canceled_message_failed():
    event = parse_one(changed("status_undelivered.txt", drop=("ErrorCode",), MessageStatus="canceled"))
    assert (event.status, event.reason) == ("failed", "The message was canceled before it was sent.")


# --- capabilities ----------------------------------------------------------------------------------------------


def test_capabilities_depend_on_the_address():
    sms, whatsapp = channel.capabilities_for(CUSTOMER), channel.capabilities_for("whatsapp:" + CUSTOMER)
    assert (sms.read_receipts, sms.reply_window_hours, sms.buttons, sms.max_text_length) == (False, None, 0, 1600)
    assert (whatsapp.read_receipts, whatsapp.reply_window_hours) == (True, 24)
    assert channel.capabilities_for("whatsapp") == whatsapp
    assert channel.capabilities.max_attachment_bytes == 5 * 1024 * 1024


# --- send: a fake Messages API on 127.0.0.1 --------------------------------------------------------------------


def outbound(text: str = "We're on it - expect an update within the hour.", **fields) -> OutboundMessage:
    return OutboundMessage(source_id=CUSTOMER, text=text, message_id="01JD2M3X7Q9V6T4R2N8P5K1H0G", **fields)


def failure_for(api: FakeTwilioApi, status: int, code: int, message: str,
                headers: dict[str, str] | None = None) -> DeliveryFailed:
    api.error(status, code, message, headers)
    with pytest.raises(DeliveryFailed) as caught:
        channel.send(outbound(), SMS_CREDENTIALS, api.base_url)
    return caught.value


def test_send_creates_a_message_with_basic_auth(twilio_api):
    # When a reply is sent
    result = channel.send(outbound(), SMS_CREDENTIALS, twilio_api.base_url)
    # Then Messages.json was called for the account, authenticated as AccountSid:AuthToken
    (call,) = twilio_api.calls
    assert call.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    expected_auth = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert call.authorization == expected_auth
    assert call.form == [("To", CUSTOMER), ("From", "+13125550177"),
                         ("Body", "We're on it - expect an update within the hour."),
                         ("StatusCallback", URL + "?kind=status")]
    # And the message sid is the external id
    assert result.external_id == "SM" + f"{1:032x}"


def test_a_separate_api_auth_token_is_preferred(twilio_api):
    credentials = Credentials(webhook_secret=AUTH_TOKEN,
                              extra={"account_sid": ACCOUNT_SID, "from": "+13125550177", "auth_token": "other"})
    channel.send(outbound(), credentials, twilio_api.base_url)
    assert twilio_api.calls[0].authorization == "Basic " + base64.b64encode(f"{ACCOUNT_SID}:other".encode()).decode()


def test_whatsapp_recipients_get_the_prefix_back(twilio_api):
    channel.send(outbound(), WHATSAPP_CREDENTIALS, twilio_api.base_url)
    call = twilio_api.calls[0]
    assert (call.value("To"), call.value("From")) == ("whatsapp:" + CUSTOMER, "whatsapp:+13125550188")
    assert call.value("StatusCallback") is None


def test_a_messaging_service_can_be_the_sender(twilio_api):
    credentials = Credentials(webhook_secret=AUTH_TOKEN, extra={
        "account_sid": ACCOUNT_SID, "messaging_service_sid": "MG4e6a8c0e2b4d6f8a0c2e4a6b8d0f2a4c",
        "address_type": "whatsapp"})
    channel.send(outbound(), credentials, twilio_api.base_url)
    call = twilio_api.calls[0]
    assert call.value("MessagingServiceSid") == "MG4e6a8c0e2b4d6f8a0c2e4a6b8d0f2a4c"
    assert call.value("From") is None
    assert call.value("To") == "whatsapp:" + CUSTOMER


def test_buttons_are_rendered_as_numbered_lines(twilio_api):
    buttons = (("Bad", "csat:1:conv-01JD2K"), ("OK", "csat:2:conv-01JD2K"), ("Excellent", "csat:3:conv-01JD2K"))
    channel.send(outbound("How did we do? Reply 1, 2 or 3.", buttons=buttons), SMS_CREDENTIALS, twilio_api.base_url)
    assert twilio_api.calls[0].value("Body") == "How did we do? Reply 1, 2 or 3.\n\n1 — Bad\n2 — OK\n3 — Excellent"


def test_render_buttons_without_text_or_buttons():
    assert render_buttons("", (("Yes", "y"),)) == "1 — Yes"
    assert render_buttons("Plain", ()) == "Plain"


def test_every_attachment_is_a_media_url(twilio_api):
    attachments = (OutboundAttachment(kind="image", url="https://files.example.com/a.jpg?sig=1"),
                   OutboundAttachment(kind="file", url="https://files.example.com/b.pdf?sig=2"))
    channel.send(outbound(attachments=attachments), SMS_CREDENTIALS, twilio_api.base_url)
    assert twilio_api.calls[0].values("MediaUrl") == ["https://files.example.com/a.jpg?sig=1",
                                                      "https://files.example.com/b.pdf?sig=2"]


def test_an_unsubscribed_customer_is_permanent_and_unreachable(twilio_api):
    error = failure_for(twilio_api, 400, 21610, "Attempt to send to unsubscribed recipient")
    assert (error.transient, error.unreachable) == (False, True)
    assert "replied STOP" in error.detail


@pytest.mark.parametrize(("code", "fragment"), [
    (21211, "not a valid number"),
    (21614, "not a mobile number"),
    (63016, "24-hour window"),
    (21617, "too long"),
])
def test_refusals_no_retry_can_fix_are_permanent(twilio_api, code, fragment):
    error = failure_for(twilio_api, 400, code, "refused")
    assert (error.transient, error.unreachable) == (False, False)
    assert fragment in error.detail


def test_rejected_credentials_are_permanent_and_do_not_leak_the_token(twilio_api):
    error = failure_for(twilio_api, 401, 20003, "Authenticate")
    assert error.transient is False
    assert error.detail == "Twilio rejected the account credentials (check the inbox's Account SID and auth token)."
    assert AUTH_TOKEN not in error.detail


def test_a_401_without_a_body_is_still_a_credentials_problem(twilio_api):
    twilio_api.answer(401, b"")
    with pytest.raises(DeliveryFailed, match="rejected the account credentials"):
        channel.send(outbound(), SMS_CREDENTIALS, twilio_api.base_url)


def test_a_rate_limit_is_transient_and_says_when_to_retry(twilio_api):
    error = failure_for(twilio_api, 429, 20429, "Too Many Requests", headers={"Retry-After": "3"})
    assert (error.transient, error.retry_after) == (True, 3.0)


def test_a_429_without_retry_after_is_transient(twilio_api):
    twilio_api.answer(429, b"Too Many Requests")
    with pytest.raises(DeliveryFailed) as caught:
        channel.send(outbound(), SMS_CREDENTIALS, twilio_api.base_url)
    assert (caught.value.transient, caught.value.retry_after) == (True, None)


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_transient(twilio_api, status):
    error = failure_for(twilio_api, status, 20500, "Internal Server Error")
    assert error.transient is True


def test_other_refusals_are_permanent_with_twilios_message(twilio_api):
    error = failure_for(twilio_api, 400, 21606, "The From phone number is not a valid, SMS-capable inbound number")
    assert error.transient is False
    assert error.detail == ("Twilio refused the message: The From phone number is not a valid, SMS-capable inbound "
                            "number (error 21606).")


def test_a_success_without_a_sid_is_permanent(twilio_api):
    twilio_api.answer(201, {"status": "queued"})
    with pytest.raises(DeliveryFailed, match="unreadable"):
        channel.send(outbound(), SMS_CREDENTIALS, twilio_api.base_url)


def test_an_unreachable_api_is_transient():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DeliveryFailed) as caught:
        channel.send(outbound(), SMS_CREDENTIALS, f"http://127.0.0.1:{port}")
    assert caught.value.transient is True


@pytest.mark.parametrize(("extra", "fragment"), [
    ({"from": "+13125550177"}, "no Account SID"),
    ({"account_sid": ACCOUNT_SID}, "neither a sender number"),
])
def test_a_misconfigured_inbox_fails_permanently_without_calling_twilio(twilio_api, extra, fragment):
    with pytest.raises(DeliveryFailed, match=fragment) as caught:
        channel.send(outbound(), Credentials(webhook_secret=AUTH_TOKEN, extra=extra), twilio_api.base_url)
    assert caught.value.transient is False
    assert twilio_api.calls == []


def test_a_signature_over_the_url_configured_in_twilio_is_accepted_when_it_differs_from_ours():
    # Given an inbox whose Twilio console points at a proxy in front of our webhook
    configured = "https://support.acme.example/twilio/sms"
    params = {"MessageSid": "SM0001", "From": "+15550100", "To": "+15550199", "Body": "hi"}
    credentials = Credentials(webhook_secret="token-1", extra={"webhook_urls": [configured]})
    body = urllib.parse.urlencode(params).encode()
    request = WebhookRequest("POST", {"content-type": "application/x-www-form-urlencoded",
                                      "x-twilio-signature": signature(configured, sorted(params.items()), "token-1")},
                             {}, body, "2026-07-20T09:00:00.000Z", public_url="https://abc.execute-api.example/x")
    # Then the signature verifies against the configured URL
    TwilioChannel().verify(request, credentials)
