"""The shared e-mail corpus (../shared/fixtures/channels/email, where it exists) through the e-mail adapter.

SNS certificates cannot be fetched here, so the corpus's test certificate stands in for the one at its SNS URL,
exactly as the manifest prescribes. On a clone without the corpus this module defines no tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from switchboard.channels.base import Credentials, WebhookRequest
from switchboard.channels.email import EmailChannel
from switchboard.domain.errors import Unauthorized
from switchboard.domain.inbound import InboundMessage

CORPUS = Path(__file__).resolve().parents[4] / "shared" / "fixtures" / "channels" / "email"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:acme-inbound-email"


def cases() -> dict[str, dict]:
    index = CORPUS / "cases.json"
    return {case["file"]: case for case in json.loads(index.read_text())["cases"]} if index.is_file() else {}


CASES = cases()
CREDENTIALS = Credentials(webhook_secret="unused", extra={"topic_arn": TOPIC, "from_address": "support@acme.example"})


def adapter(read: dict[tuple[str, str], bytes] | None = None, confirmed: list | None = None) -> EmailChannel:
    pem = (CORPUS / "sns-test-signing-cert.pem").read_bytes()
    return EmailChannel(
        fetch_certificate=lambda url: pem,
        read_object=lambda bucket, key: (read or {})[(bucket, key)],
        confirm_subscription=(confirmed if confirmed is not None else []).append,
    )


def sns_request(name: str, body: bytes | None = None) -> WebhookRequest:
    case = CASES[name]
    headers = {key.lower(): value for key, value in case["request"]["headers"].items()}
    return WebhookRequest("POST", headers, {}, body or (CORPUS / name).read_bytes(), "2026-07-20T10:00:00.000Z")


if CASES:

    def test_the_subscription_confirmation_is_verified_and_confirmed_for_our_topic_only():
        confirmed: list[str] = []
        answer = adapter(confirmed=confirmed).handshake(sns_request("sns_subscription_confirmation.json"),
                                                        CREDENTIALS)
        assert answer is not None and answer.status == 200
        assert confirmed == [json.loads((CORPUS / "sns_subscription_confirmation.json").read_text())["SubscribeURL"]]
        foreign = Credentials(webhook_secret="unused", extra={"topic_arn": "arn:aws:sns:eu-west-1:1:someone-else"})
        with pytest.raises(Unauthorized):
            adapter().handshake(sns_request("sns_subscription_confirmation.json"), foreign)

    def test_the_s3_notification_is_verified_and_reads_the_mail_the_rule_stored():
        envelope = json.loads((CORPUS / "ses_received_s3.json").read_text())
        action = json.loads(envelope["Message"])["receipt"]["action"]
        stored = (CORPUS / "plain_text.eml").read_bytes()  # the corpus's own S3 object is not part of it
        channel = adapter(read={(action["bucketName"], action["objectKey"]): stored})
        request = sns_request("ses_received_s3.json")
        channel.verify(request, CREDENTIALS)
        [message] = channel.parse(request, CREDENTIALS)
        assert isinstance(message, InboundMessage) and message.source_id == "lena.hoffmann@example.de"

    def test_a_tampered_notification_is_refused():
        body = (CORPUS / "ses_received_s3.json").read_text().replace("refund", "refunds").encode()
        envelope = json.loads(body)
        envelope["Subject"] = "Tampered"
        with pytest.raises(Unauthorized):
            adapter().verify(sns_request("ses_received_s3.json", json.dumps(envelope).encode()), CREDENTIALS)

    def test_the_plain_text_mail_is_normalized_as_the_manifest_says():
        case = CASES["plain_text.eml"]
        envelope = json.loads((CORPUS / "ses_received_s3.json").read_text())
        action = json.loads(envelope["Message"])["receipt"]["action"]
        channel = adapter(read={(action["bucketName"], action["objectKey"]): (CORPUS / "plain_text.eml").read_bytes()})
        [message] = channel.parse(sns_request("ses_received_s3.json"), CREDENTIALS)
        assert message.text == case["text"]
        assert message.external_id == case["ext_message_id"].strip("<>")
        assert message.profile.name == case["sender_name"] and message.source_id == case["sender_id"]
        assert message.meta["subject"] == "Rechnung fehlt - Bestellung A-10517"
        assert message.sent_at == case["timestamp"].split()[0].replace("Z", ".000Z")  # "…Z (Date: 11:02 +0200)"
