"""What the Meta adapters share: X-Hub-Signature-256 on the raw bytes, the hub.challenge GET, body decoding, timestamps
and the Graph error translation."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest

from switchboard.channels import meta
from switchboard.channels.base import Credentials, WebhookRequest
from switchboard.channels.http import HttpAnswer
from switchboard.channels.instagram import InstagramChannel
from switchboard.channels.messenger import MessengerChannel
from switchboard.channels.whatsapp import WhatsAppChannel
from switchboard.domain.errors import BadRequest, Unauthorized

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
RECEIVED_AT = "2026-09-21T18:00:00.000Z"
APP_SECRET = "meta-app-secret-01"
VERIFY_TOKEN = "switchboard-verify-7f3a"
CREDENTIALS = Credentials(webhook_secret=APP_SECRET, token="EAAG-page-token", extra={"verify_token": VERIFY_TOKEN})
CHANNELS = [WhatsAppChannel(), MessengerChannel(), InstagramChannel()]
BODIES = ["whatsapp/image.json", "messenger/text.json", "instagram/text.json"]


def body_of(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def signature(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(body: bytes, header: str | None) -> WebhookRequest:
    headers = {"content-type": "application/json"}
    if header is not None:
        headers[meta.SIGNATURE_HEADER] = header
    return WebhookRequest(method="POST", headers=headers, query={}, body=body, received_at=RECEIVED_AT)


def subscription(**query: str) -> WebhookRequest:
    return WebhookRequest(method="GET", headers={}, query=query, body=b"", received_at=RECEIVED_AT)


# --- X-Hub-Signature-256 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", CHANNELS, ids=lambda c: c.name)
@pytest.mark.parametrize("name", BODIES)
def test_a_body_signed_with_the_app_secret_is_accepted_by_every_meta_channel(channel, name):
    # Given a raw body exactly as Meta sends it, signed with the app secret
    body = body_of(name)
    # When / Then it verifies
    assert channel.verify(post(body, signature(body)), CREDENTIALS) is None


def test_the_signature_covers_the_raw_bytes_not_a_reserialization():
    # Given a body with \u escapes and escaped slashes, as Meta serializes it
    raw = body_of("whatsapp/image.json")
    reserialized = json.dumps(json.loads(raw)).encode()
    assert reserialized != raw and b"\\/" in raw and b"\\u00e4" in raw
    # When the header was computed over the raw bytes, a verifier that re-serialized first would not match
    with pytest.raises(Unauthorized, match="does not match"):
        meta.verify_signature(post(reserialized, signature(raw)), APP_SECRET)
    # Then verifying the bytes as received succeeds
    meta.verify_signature(post(raw, signature(raw)), APP_SECRET)


def test_a_body_signed_with_another_secret_is_unauthorized():
    body = body_of("messenger/text.json")
    with pytest.raises(Unauthorized, match="does not match"):
        meta.verify_signature(post(body, signature(body, "wrong-secret")), APP_SECRET)


def test_a_tampered_body_is_unauthorized():
    body = body_of("messenger/text.json")
    tampered = body.replace(b"Bonjour", b"Bonsoir")
    with pytest.raises(Unauthorized, match="does not match"):
        meta.verify_signature(post(tampered, signature(body)), APP_SECRET)


def test_a_missing_signature_header_is_unauthorized():
    with pytest.raises(Unauthorized, match="no X-Hub-Signature-256 header"):
        meta.verify_signature(post(body_of("instagram/text.json"), None), APP_SECRET)


@pytest.mark.parametrize("header", [
    "",
    "sha256=",
    "sha256=xyz",
    "sha1=" + "a" * 40,
    "SHA256=" + "a" * 64,
    "sha256=" + "a" * 63,
    "sha256=" + "g" * 64,
    "a" * 64,
])
def test_a_malformed_signature_header_is_unauthorized(header):
    with pytest.raises(Unauthorized, match="malformed"):
        meta.verify_signature(post(body_of("instagram/text.json"), header), APP_SECRET)


def test_upper_case_hex_digits_are_accepted():
    body = body_of("instagram/text.json")
    prefix, digest = signature(body).split("=", 1)
    meta.verify_signature(post(body, f"{prefix}={digest.upper()}"), APP_SECRET)


def test_an_inbox_without_an_app_secret_trusts_nothing():
    # Given an inbox whose app secret was never set, and a body "signed" with the empty key
    body = body_of("messenger/text.json")
    # When / Then nothing verifies
    with pytest.raises(Unauthorized, match="no Meta app secret configured"):
        meta.verify_signature(post(body, signature(body, "")), "")


def test_verify_does_not_parse_the_body():
    # Given an authentic request whose body is not JSON
    body = b"\xff not json"
    # When / Then authentication alone decides
    meta.verify_signature(post(body, signature(body)), APP_SECRET)


# --- the subscription GET --------------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", CHANNELS, ids=lambda c: c.name)
def test_the_subscription_challenge_is_echoed_verbatim_as_plain_text(channel):
    # Given Meta's verification request with the configured token
    request = subscription(**{"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"})
    # When the channel answers the handshake
    answer = channel.handshake(request, CREDENTIALS)
    # Then it is 200 with exactly the challenge, not JSON
    assert (answer.status, answer.body, answer.content_type) == (200, "1158201444", "text/plain")


@pytest.mark.parametrize("token", ["wrong", "", VERIFY_TOKEN + "x", VERIFY_TOKEN.upper()])
def test_a_wrong_verify_token_is_unauthorized(token):
    request = subscription(**{"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "42"})
    with pytest.raises(Unauthorized, match="does not match"):
        MessengerChannel().handshake(request, CREDENTIALS)


def test_a_missing_verify_token_is_unauthorized():
    request = subscription(**{"hub.mode": "subscribe", "hub.challenge": "42"})
    with pytest.raises(Unauthorized):
        WhatsAppChannel().handshake(request, CREDENTIALS)


def test_an_inbox_without_a_verify_token_confirms_nothing():
    request = subscription(**{"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "42"})
    with pytest.raises(Unauthorized, match="no verify token configured"):
        WhatsAppChannel().handshake(request, Credentials(webhook_secret=APP_SECRET))


@pytest.mark.parametrize("query", [
    {},
    {"hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42"},
    {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42"},
    {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN},
])
def test_a_get_that_is_not_a_subscription_is_a_bad_request(query):
    with pytest.raises(BadRequest, match="Not a webhook subscription request"):
        InstagramChannel().handshake(subscription(**query), CREDENTIALS)


def test_a_post_is_not_a_handshake():
    body = body_of("messenger/text.json")
    assert MessengerChannel().handshake(post(body, signature(body)), CREDENTIALS) is None


def test_verify_subscription_refuses_a_post_even_with_the_right_parameters():
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42"}
    request = WebhookRequest(method="POST", headers={}, query=query, body=b"", received_at=RECEIVED_AT)
    with pytest.raises(BadRequest):
        meta.verify_subscription(request, VERIFY_TOKEN)


# --- decoding --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", CHANNELS, ids=lambda c: c.name)
@pytest.mark.parametrize("body", [b"{not json", b"", b'{"object":"page","entry":[', b"\xff\xfe"])
def test_malformed_json_is_a_bad_request(channel, body):
    with pytest.raises(BadRequest, match="not valid JSON"):
        channel.parse(post(body, None))


@pytest.mark.parametrize("channel", CHANNELS, ids=lambda c: c.name)
@pytest.mark.parametrize("body", [
    b"[1, 2]", b'"page"', b"null", b"{}", b'{"object":"page"}', b'{"entry":[]}', b'{"object":"page","entry":{}}',
    b'{"object":7,"entry":[]}',
])
def test_json_without_object_and_entry_is_a_bad_request(channel, body):
    with pytest.raises(BadRequest, match="must be an object with `object` and `entry`"):
        channel.parse(post(body, None))


@pytest.mark.parametrize(("channel", "name"), [
    (WhatsAppChannel(), "messenger/text.json"),
    (MessengerChannel(), "instagram/text.json"),
    (InstagramChannel(), "whatsapp/text.json"),
    (MessengerChannel(), None),
], ids=["page-to-whatsapp", "instagram-to-messenger", "whatsapp-to-instagram", "permissions-object"])
def test_valid_webhooks_of_another_object_type_are_ignored(channel, name):
    # Given a well-formed webhook for another product (one Meta app may share one callback URL)
    body = body_of(name) if name else b'{"object":"permissions","entry":[{"id":"1","time":1,"changes":[]}]}'
    # When / Then it is acknowledged with nothing to store
    assert channel.parse(post(body, None)) == []


# --- timestamps and small helpers ------------------------------------------------------------------------------


def test_milliseconds_keep_their_exact_milliseconds():
    # 1790000000123 / 1000 is not exact in binary floating point; the conversion must not round to .122
    assert meta.from_millis(1790000000123, RECEIVED_AT) == "2026-09-21T14:13:20.123Z"
    assert meta.from_millis(1790000000999, RECEIVED_AT) == "2026-09-21T14:13:20.999Z"


@pytest.mark.parametrize("value", [None, "1790000000123", 17.5, True])
def test_unusable_milliseconds_fall_back_to_the_receipt_time(value):
    assert meta.from_millis(value, RECEIVED_AT) == RECEIVED_AT


def test_whatsapp_seconds_arrive_as_strings():
    assert meta.from_seconds("1790000000", RECEIVED_AT) == "2026-09-21T14:13:20.000Z"
    assert meta.from_seconds(1790000000, RECEIVED_AT) == "2026-09-21T14:13:20.000Z"
    assert meta.from_seconds("soon", RECEIVED_AT) == RECEIVED_AT


@pytest.mark.parametrize(("data", "expected"), [
    ("csat:3:conv-01J8Z3K4M5", True),
    ("csat:5:ticket-88213", True),
    ("csat:1:x", True),
    ("csat:0:conv", False),
    ("csat:6:conv", False),
    ("csat:good:conv", False),
    ("csat:3:", False),
    ("HANDOFF_AGENT", False),
])
def test_csat_payloads_are_recognised_as_the_ingest_service_rates_them(data, expected):
    assert meta.is_csat(data) is expected


# --- retry hints -----------------------------------------------------------------------------------------------


def test_retry_after_reads_the_plain_header():
    assert meta.retry_after({"Retry-After": "30"}) == 30.0


def test_retry_after_reads_the_business_use_case_estimate_in_minutes():
    usage = {"104888123456789": [{"type": "messenger", "call_count": 100, "total_cputime": 20, "total_time": 25,
                                  "estimated_time_to_regain_access": 3}]}
    assert meta.retry_after({"X-Business-Use-Case-Usage": json.dumps(usage)}) == 180.0


@pytest.mark.parametrize("headers", [{}, {"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"},
                                     {"x-business-use-case-usage": "not json"},
                                     {"x-business-use-case-usage": '{"1":[{"estimated_time_to_regain_access":0}]}'}])
def test_retry_after_is_none_without_a_usable_hint(headers):
    assert meta.retry_after(headers) is None


def test_an_unknown_graph_error_is_permanent_and_quotes_meta():
    answer = HttpAnswer(400, json.dumps({"error": {"message": "(#999) Something odd", "code": 999}}).encode(), {})
    error = meta.failure("Messenger", answer, {})
    assert (error.transient, error.unreachable) == (False, False)
    assert error.detail == "Messenger refused the message: (#999) Something odd (code 999)"


def test_a_graph_error_flagged_transient_is_retried():
    body = {"error": {"message": "Temporary failure", "code": 12345, "is_transient": True}}
    error = meta.failure("Messenger", HttpAnswer(400, json.dumps(body).encode(), {}), {})
    assert error.transient is True
