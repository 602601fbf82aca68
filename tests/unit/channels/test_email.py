"""E-mail adapter: SNS signatures (checked with a throwaway key and certificate), SES receipt and event notifications,
MIME parsing of hand-built RFC mails, and replies composed for SES and read back with the email package."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from moto import mock_aws

from switchboard.channels import email as email_channel
from switchboard.channels import mime, sns
from switchboard.channels.base import Credentials, OutboundAttachment, OutboundMessage, WebhookRequest
from switchboard.channels.email import EmailChannel, csat_token
from switchboard.domain.errors import BadRequest, DeliveryFailed, Unauthorized
from switchboard.domain.inbound import DeliveryReceipt, InboundMessage, Profile, ReachabilityChanged
from switchboard.domain.message import Attachment, AttachmentKind

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "email"
RECEIVED_AT = "2026-07-27T10:00:00.000Z"
SES_RECEIVED = "2026-07-27T09:59:58.120Z"
TOPIC = "arn:aws:sns:eu-west-1:111122223333:northwind-inbound-mail"
EVENTS_TOPIC = "arn:aws:sns:eu-west-1:111122223333:northwind-mail-events"
CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0f1e2d3c4b5a69788796a5b4c3d2e1f0.pem"
SUBSCRIBE_URL = ("https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" + TOPIC
                 + "&Token=2336412f37fb687f5d51e6e2425c464de12884c9ffe8a5f1c2a7d4e9b6f3c0a1")
BUCKET = "northwind-inbound-mail"
SUPPORT = "support@northwind.example"
CREDENTIALS = Credentials(
    webhook_secret="csat-link-secret",
    extra={"topic_arn": [TOPIC, EVENTS_TOPIC], "from_address": SUPPORT, "from_name": "Northwind Support"},
)
OUR_ID = "01J42BOUNCE7Q9S1U3W5Y7A9C1E@northwind.example"
SES_OUT_ID = "0102019a3f0c7e21-5d6b8e2f-0c4a-4e7b-9d1a-3f5e7a9c1b2d-000000"


# --- a throwaway SNS signer -------------------------------------------------------------------------------------

# The string-to-sign, written out here (not borrowed from the module under test) from the SNS developer guide.
SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}


@dataclass(frozen=True)
class Signer:
    key: rsa.RSAPrivateKey
    pem: bytes

    def sign(self, envelope: dict, version: str = "1", cert_url: str = CERT_URL) -> dict:
        canonical = "".join(f"{name}\n{envelope[name]}\n" for name in SIGNED_FIELDS[envelope["Type"]]
                            if name in envelope)
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = self.key.sign(canonical.encode(), padding.PKCS1v15(), algorithm)
        return {**envelope, "SignatureVersion": version, "Signature": base64.b64encode(signature).decode(),
                "SigningCertURL": cert_url}


def make_signer(common_name: str = "sns.amazonaws.com") -> Signer:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Switchboard unit tests (throwaway)")])
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime(2026, 1, 1, tzinfo=UTC)).not_valid_after(datetime(2036, 1, 1, tzinfo=UTC))
        .sign(key, hashes.SHA256())
    )
    return Signer(key=key, pem=certificate.public_bytes(serialization.Encoding.PEM))


@pytest.fixture(scope="module")
def signer() -> Signer:
    return make_signer()


# --- fakes for the adapter's collaborators ------------------------------------------------------------------------


@dataclass
class FakeCertificates:
    pem: bytes
    fetched: list[str] = field(default_factory=list)

    def __call__(self, url: str) -> bytes:
        self.fetched.append(url)
        return self.pem


@dataclass
class FakeBucket:
    objects: dict[tuple[str, str], bytes] = field(default_factory=dict)
    reads: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, bucket: str, key: str) -> bytes:
        self.reads.append((bucket, key))
        return self.objects[(bucket, key)]


@dataclass
class FakeSes:
    sent: list[tuple[bytes, str, list[str]]] = field(default_factory=list)
    error: Exception | None = None

    def __call__(self, raw: bytes, source: str, destinations: list[str]) -> str:
        if self.error is not None:
            raise self.error
        self.sent.append((raw, source, destinations))
        return SES_OUT_ID

    def last(self) -> EmailMessage:
        return message_from_bytes(self.sent[-1][0], policy=policy.default)  # type: ignore[return-value]


@dataclass
class Harness:
    channel: EmailChannel
    signer: Signer
    certificates: FakeCertificates
    bucket: FakeBucket
    confirmed: list[str]
    ses: FakeSes

    def receive(self, raw: bytes, key: str = "inbound/k2m4p6r8t0w2y4a6c8e0g2i3n8v1q5c7", **overrides) -> list:
        """Given SES stored ``raw`` in S3 and notified us, when the notification is parsed."""
        self.bucket.objects[(BUCKET, key)] = raw
        return self.channel.parse(webhook(notification(received(key, **overrides))))

    def receive_one(self, raw: bytes, **overrides) -> InboundMessage:
        events = self.receive(raw, **overrides)
        assert len(events) == 1, events
        assert isinstance(events[0], InboundMessage)
        return events[0]


@pytest.fixture
def mail(signer: Signer) -> Harness:
    certificates, bucket, confirmed, ses = FakeCertificates(signer.pem), FakeBucket(), [], FakeSes()
    channel = EmailChannel(fetch_certificate=certificates, read_object=bucket, confirm_subscription=confirmed.append,
                           send_raw=ses)
    return Harness(channel, signer, certificates, bucket, confirmed, ses)


# --- building requests ------------------------------------------------------------------------------------------


def eml(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def received(key: str, *, content: str | None = None, encoding: str | None = None, mail: dict | None = None) -> dict:
    """An SES receipt notification as the S3 action (or, with ``content``, the SNS action) publishes it."""
    action = {"type": "S3", "topicArn": TOPIC, "bucketName": BUCKET, "objectKeyPrefix": "inbound/", "objectKey": key}
    if content is not None:
        action = {"type": "SNS", "topicArn": TOPIC, "encoding": encoding or "UTF8"}
    notification = {
        "notificationType": "Received",
        "mail": {"timestamp": SES_RECEIVED, "source": "bounces+x@mailer.example", "messageId": key.split("/")[-1],
                 "destination": [SUPPORT], "headersTruncated": False, "headers": [], "commonHeaders": {},
                 **(mail or {})},
        "receipt": {
            "timestamp": SES_RECEIVED, "processingTimeMillis": 512, "recipients": [SUPPORT],
            "spamVerdict": {"status": "PASS"}, "virusVerdict": {"status": "PASS"}, "spfVerdict": {"status": "PASS"},
            "dkimVerdict": {"status": "GRAY"}, "dmarcVerdict": {"status": "PASS"}, "action": action,
        },
    }
    if content is not None:
        notification["content"] = content
    return notification


def notification(message: dict | str, *, topic: str = TOPIC, subject: str | None = "Amazon SES Email Receipt "
                 "Notification") -> dict:
    envelope = {
        "Type": "Notification",
        "MessageId": "6f1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b",
        "TopicArn": topic,
        "Message": message if isinstance(message, str) else json.dumps(message),
        "Timestamp": "2026-07-27T09:59:58.951Z",
        "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + topic + ":1",
    }
    if subject is not None:
        envelope["Subject"] = subject
    return envelope


def confirmation(kind: str = "SubscriptionConfirmation", subscribe_url: str = SUBSCRIBE_URL) -> dict:
    return {
        "Type": kind,
        "MessageId": "2c1b0a9f-8e7d-4c6b-a5f4-e3d2c1b0a9f8",
        "Token": "2336412f37fb687f5d51e6e2425c464de12884c9ffe8a5f1c2a7d4e9b6f3c0a1",
        "TopicArn": TOPIC,
        "Message": f"You have chosen to subscribe to the topic {TOPIC}.\nTo confirm the subscription, visit the "
                   "SubscribeURL included in this message.",
        "SubscribeURL": subscribe_url,
        "Timestamp": "2026-07-27T08:00:00.112Z",
    }


def webhook(body: dict | bytes, message_type: str | None = None) -> WebhookRequest:
    raw = json.dumps(body, indent=2).encode() if isinstance(body, dict) else body
    headers = {"content-type": "text/plain; charset=UTF-8", "user-agent": "Amazon Simple Notification Service Agent"}
    if isinstance(body, dict):
        headers["x-amz-sns-message-type"] = message_type or body["Type"]
    return WebhookRequest(method="POST", headers=headers, query={}, body=raw, received_at=RECEIVED_AT)


def with_header(raw: bytes, line: bytes, replacing: bytes | None = None) -> bytes:
    """The mail with a header line added at the top (or put in place of an existing line)."""
    if replacing is not None:
        assert replacing in raw
        return raw.replace(replacing, line)
    return line + b"\r\n" + raw


# --- verify -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_notification_signed_by_sns_is_authentic(mail, version):
    # Given a receipt notification signed with SignatureVersion 1 (SHA1withRSA) or 2 (SHA256withRSA)
    request = webhook(mail.signer.sign(notification(received("inbound/abc")), version=version))
    # When it is verified
    mail.channel.verify(request, CREDENTIALS)
    # Then the certificate came from the URL SNS named, and nothing complained
    assert mail.certificates.fetched == [CERT_URL]


def test_a_notification_without_a_subject_is_signed_without_one(mail):
    request = webhook(mail.signer.sign(notification(received("inbound/abc"), subject=None), version="2"))
    mail.channel.verify(request, CREDENTIALS)


def test_the_verified_notification_is_the_one_parsed(mail):
    # Given an authentic notification whose mail SES stored in S3
    mail.bucket.objects[(BUCKET, "inbound/abc")] = eml("plain_flowed_qp.eml")
    request = webhook(mail.signer.sign(notification(received("inbound/abc"))))
    # When the service offers it to the handshake, then verifies and parses the same raw request
    assert mail.channel.handshake(request, CREDENTIALS) is None
    mail.channel.verify(request, CREDENTIALS)
    (event,) = mail.channel.parse(request, CREDENTIALS)
    # Then the mail is read
    assert event.external_id == "5b1e9c2a-7f40-4d8e-a1c3-2f9e8d7c6b5a@example.com"


@pytest.mark.parametrize("field_name", ["Message", "MessageId", "Subject", "Timestamp", "TopicArn"])
def test_a_notification_changed_after_signing_is_unauthorized(mail, field_name):
    # Given a signed notification with one signed field altered afterwards (the topic stays one we accept)
    envelope = mail.signer.sign(notification(received("inbound/abc")))
    envelope[field_name] = EVENTS_TOPIC if field_name == "TopicArn" else envelope[field_name] + "x"
    # When / Then
    with pytest.raises(Unauthorized, match="signature does not match"):
        mail.channel.verify(webhook(envelope), CREDENTIALS)


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_signature_by_another_key_is_unauthorized(mail, version):
    # Given a notification signed by a key other than the certificate's
    envelope = make_signer().sign(notification(received("inbound/abc")), version=version)
    # When / Then
    with pytest.raises(Unauthorized, match="signature does not match"):
        mail.channel.verify(webhook(envelope), CREDENTIALS)


def test_a_v1_signature_presented_as_v2_is_unauthorized(mail):
    envelope = mail.signer.sign(notification(received("inbound/abc")), version="1")
    envelope["SignatureVersion"] = "2"
    with pytest.raises(Unauthorized, match="signature does not match"):
        mail.channel.verify(webhook(envelope), CREDENTIALS)


@pytest.mark.parametrize(
    "cert_url",
    [
        "https://evil.example/SimpleNotificationService-1.pem",
        "https://sns.eu-west-1.amazonaws.com.evil.example/SimpleNotificationService-1.pem",
        "https://sns.eu-west-1.amazonaws.com@evil.example/SimpleNotificationService-1.pem",
        "https://evil.example@sns.eu-west-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://sns.eu-west-1.amazonaws.com:8443/SimpleNotificationService-1.pem",
        "https://s3.eu-west-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://snsxeu-west-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://sns.amazonaws.com/SimpleNotificationService-1.pem",
        "https://127.0.0.1/SimpleNotificationService-1.pem",
        "sns.eu-west-1.amazonaws.com/SimpleNotificationService-1.pem",
        "",
    ],
)
def test_a_certificate_url_off_the_sns_hosts_is_never_fetched(mail, cert_url):
    # Given an otherwise authentic notification that names a certificate somewhere else
    envelope = mail.signer.sign(notification(received("inbound/abc")), cert_url=cert_url)
    # When / Then it is refused before anything is fetched
    with pytest.raises(Unauthorized, match="SigningCertURL"):
        mail.channel.verify(webhook(envelope), CREDENTIALS)
    assert mail.certificates.fetched == []


def test_a_plain_http_certificate_url_is_never_fetched(mail):
    envelope = mail.signer.sign(notification(received("inbound/abc")),
                                cert_url=CERT_URL.replace("https://", "http://"))
    with pytest.raises(Unauthorized, match="not an https URL"):
        mail.channel.verify(webhook(envelope), CREDENTIALS)
    assert mail.certificates.fetched == []


@pytest.mark.parametrize(
    "url",
    [
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-a.pem",
        "https://sns.ap-southeast-2.amazonaws.com/SimpleNotificationService-a.pem",
        "https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-a.pem",
        "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-a.pem",
        "https://SNS.EU-WEST-1.AMAZONAWS.COM:443/SimpleNotificationService-a.pem",
    ],
)
def test_every_sns_region_host_is_accepted(url):
    assert sns.is_sns_url(url)


def test_a_notification_from_another_topic_is_unauthorized_without_a_fetch(mail):
    # Given a genuinely SNS-signed notification from someone else's topic (anyone can subscribe our URL)
    envelope = mail.signer.sign(notification(received("inbound/abc"), topic="arn:aws:sns:eu-west-1:999:spam"))
    # When / Then
    with pytest.raises(Unauthorized, match="not subscribed to"):
        mail.channel.verify(webhook(envelope), CREDENTIALS)
    assert mail.certificates.fetched == []


def test_a_single_configured_topic_is_accepted(mail):
    credentials = replace(CREDENTIALS, extra={**CREDENTIALS.extra, "topic_arn": TOPIC})
    mail.channel.verify(webhook(mail.signer.sign(notification(received("inbound/abc")))), credentials)


def test_an_inbox_without_a_topic_trusts_nothing(mail):
    # Given an inbox whose topic was never recorded
    credentials = replace(CREDENTIALS, extra={"from_address": SUPPORT})
    # When / Then even a valid SNS signature is not enough: it could be any AWS account's topic
    with pytest.raises(Unauthorized, match="no SNS topic configured"):
        mail.channel.verify(webhook(mail.signer.sign(notification(received("inbound/abc")))), credentials)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"SignatureVersion": "3"}, "Unsupported SNS SignatureVersion"),
        ({"SignatureVersion": None}, "Unsupported SNS SignatureVersion"),
        ({"Signature": "not base64!"}, "not valid base64"),
        ({"Signature": ""}, "not signed"),
        ({"Type": "Mystery"}, "Unknown SNS message type"),
        ({"Timestamp": None}, "has no Timestamp"),
        ({"Message": {"not": "a string"}}, "Message is not a string"),
        ({"Type": {"Notification": 1}}, "disagrees"),
        ({"TopicArn": [TOPIC]}, "not subscribed to"),
    ],
)
def test_malformed_signature_fields_are_unauthorized(mail, change, message):
    envelope = mail.signer.sign(notification(received("inbound/abc")))
    envelope.update(change)
    envelope = {key: value for key, value in envelope.items() if value is not None}
    with pytest.raises(Unauthorized, match=message):
        mail.channel.verify(webhook(envelope, message_type=str(envelope["Type"])), CREDENTIALS)


def test_an_unreadable_certificate_is_unauthorized(mail):
    mail.certificates.pem = b"-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n"
    with pytest.raises(Unauthorized, match="could not be read"):
        mail.channel.verify(webhook(mail.signer.sign(notification(received("inbound/abc")))), CREDENTIALS)


def test_a_message_type_header_that_disagrees_with_the_signed_type_is_unauthorized(mail):
    envelope = mail.signer.sign(notification(received("inbound/abc")))
    with pytest.raises(Unauthorized, match="disagrees"):
        mail.channel.verify(webhook(envelope, message_type="SubscriptionConfirmation"), CREDENTIALS)


@pytest.mark.parametrize("body", [b"{not json", b"", b"\xff\xfe", b"[1, 2]", b'"Notification"'])
def test_a_body_that_is_not_an_sns_message_is_a_bad_request(mail, body):
    with pytest.raises(BadRequest, match="SNS message"):
        mail.channel.verify(webhook(body), CREDENTIALS)
    with pytest.raises(BadRequest, match="SNS message"):
        mail.channel.parse(webhook(body))


def test_certificates_are_cached_per_url_and_the_cache_is_bounded(monkeypatch):
    # Given an empty cache and a download that counts its calls
    monkeypatch.setattr(sns, "_CERTIFICATES", {})
    downloads: list[str] = []

    def download(url: str) -> bytes:
        downloads.append(url)
        return f"pem for {url}".encode()

    # When the same URL is asked for twice, then many others
    assert sns.cached_certificate(CERT_URL, download) == f"pem for {CERT_URL}".encode()
    assert sns.cached_certificate(CERT_URL, download) == f"pem for {CERT_URL}".encode()
    for number in range(40):
        sns.cached_certificate(f"https://sns.eu-west-1.amazonaws.com/c{number}.pem", download)
    # Then the first was fetched once, and the cache never grew past its bound (oldest out first)
    assert downloads.count(CERT_URL) == 1
    assert len(sns._CERTIFICATES) == 16
    assert CERT_URL not in sns._CERTIFICATES
    assert "https://sns.eu-west-1.amazonaws.com/c39.pem" in sns._CERTIFICATES


def test_the_default_fetcher_refuses_non_sns_urls_itself():
    with pytest.raises(Unauthorized):
        sns.fetch_certificate("https://127.0.0.1:9/cert.pem")
    with pytest.raises(Unauthorized):
        sns.confirm_subscription("https://127.0.0.1:9/?Action=ConfirmSubscription")


# --- handshake --------------------------------------------------------------------------------------------------


def test_a_subscription_confirmation_is_verified_then_confirmed(mail):
    # Given an authentic SubscriptionConfirmation for our topic
    request = webhook(mail.signer.sign(confirmation()))
    # When the service offers it to the handshake
    answer = mail.channel.handshake(request, CREDENTIALS)
    # Then the SubscribeURL is visited once and SNS gets a 200
    assert mail.confirmed == [SUBSCRIBE_URL]
    assert mail.certificates.fetched == [CERT_URL]
    assert (answer.status, json.loads(answer.body)) == (200, {"confirmed": True})


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_forged_subscription_confirmation_is_never_confirmed(mail, version):
    request = webhook(make_signer().sign(confirmation(), version=version))
    with pytest.raises(Unauthorized):
        mail.channel.handshake(request, CREDENTIALS)
    assert mail.confirmed == []


def test_a_subscription_confirmation_for_another_topic_is_never_confirmed(mail):
    envelope = confirmation()
    envelope["TopicArn"] = "arn:aws:sns:eu-west-1:999:someone-elses-topic"
    with pytest.raises(Unauthorized, match="not subscribed to"):
        mail.channel.handshake(webhook(mail.signer.sign(envelope)), CREDENTIALS)
    assert mail.confirmed == []


@pytest.mark.parametrize("url", ["https://evil.example/?Action=ConfirmSubscription",
                                 "http://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription"])
def test_a_signed_subscribe_url_off_the_sns_hosts_is_never_visited(mail, url):
    with pytest.raises(Unauthorized, match="SubscribeURL"):
        mail.channel.handshake(webhook(mail.signer.sign(confirmation(subscribe_url=url))), CREDENTIALS)
    assert mail.confirmed == []


def test_an_unsubscribe_confirmation_is_acknowledged_without_visiting_anything(mail):
    answer = mail.channel.handshake(webhook(mail.signer.sign(confirmation("UnsubscribeConfirmation"))), CREDENTIALS)
    assert answer.status == 200
    assert mail.confirmed == []


@pytest.mark.parametrize("body", [None, b"{not json"])
def test_notifications_and_garbage_are_not_handshakes(mail, body):
    request = webhook(body or mail.signer.sign(notification(received("inbound/abc"))))
    assert mail.channel.handshake(request, CREDENTIALS) is None
    assert mail.certificates.fetched == []


def test_parse_ignores_subscription_messages(mail):
    assert mail.channel.parse(webhook(mail.signer.sign(confirmation()))) == []


# --- parse: SES receipt notifications ---------------------------------------------------------------------------


def test_a_plain_text_mail_from_s3(mail):
    # Given a quoted-printable, format=flowed UTF-8 mail that SES's S3 action stored under inbound/…
    key = "inbound/k2m4p6r8t0w2y4a6c8e0g2i3n8v1q5c7"
    # When its notification is parsed
    (event,) = mail.receive(eml("plain_flowed_qp.eml"), key=key)
    # Then exactly that object was read, and the mail is one message from the customer
    assert mail.bucket.reads == [(BUCKET, key)]
    assert event == InboundMessage(
        source_id="dana.whitfield@example.com",
        external_id="5b1e9c2a-7f40-4d8e-a1c3-2f9e8d7c6b5a@example.com",
        sent_at="2026-07-21T08:14:07.000Z",
        profile=Profile(name="Dana Whitfield", email="dana.whitfield@example.com"),
        text=(
            "Hello Northwind team,\n\nI ordered the walnut desk (NW-4410) on 14 July and paid \u20ac349, but the "
            "invoice never arrived. Could you send it again? My accountant needs it before Friday.\n\nThank you,\n"
            "Dana\n\n-- \nDana Whitfield \u00b7 Whitfield Studio"
        ),
        meta={
            "subject": "Missing invoice for order NW-4410",
            "to": [SUPPORT],
            "raw_ref": f"s3://{BUCKET}/{key}",
            "ses_message_id": "k2m4p6r8t0w2y4a6c8e0g2i3n8v1q5c7",
            "verdicts": {"spam": "PASS", "virus": "PASS", "spf": "PASS", "dkim": "GRAY", "dmarc": "PASS"},
        },
    )


@pytest.mark.parametrize("encoding", ["BASE64", "UTF8"])
def test_a_mail_carried_inline_by_the_sns_action(mail, encoding):
    # Given an SES SNS action, which puts the mail itself into the notification
    raw = eml("alternative_reply.eml")
    content = base64.b64encode(raw).decode() if encoding == "BASE64" else raw.decode("utf-8")
    # When it is parsed
    (event,) = mail.channel.parse(webhook(notification(received("x", content=content, encoding=encoding))))
    # Then S3 is not touched and the mail is the same as if it had been stored
    assert mail.bucket.reads == []
    assert event.external_id == "CAO9x7Kd2mQpL4rTz8vW1nYbH3sE6fJ0uGc5aX@mail.example.ng"
    assert "raw_ref" not in event.meta


def test_a_multipart_alternative_reply_is_threaded_and_its_quote_folded(mail):
    # Given a Gmail reply: text and HTML alternatives, In-Reply-To and References, quoted history below
    event = mail.receive_one(eml("alternative_reply.eml"))
    # Then the display name with a comma survives, and threading keys run root first, direct parent last
    assert event.source_id == "chidi.okafor@example.ng"
    assert event.profile == Profile(name="Okafor, Chidi", email="chidi.okafor@example.ng")
    assert event.sent_at == "2026-07-22T15:40:12.000Z"
    assert event.reply_to_external_id == "01J3ZK8Q6M2V9B4T7R1X5N0C8D@northwind.example"
    assert event.thread_keys == ("CAO1a2B3c4D5e6F7g8H9i0J-orig@mail.example.ng",
                                 "01J3ZK8Q6M2V9B4T7R1X5N0C8D@northwind.example")
    # And the text is the plain part above the (two-line) attribution; the whole body and the HTML are kept
    assert event.text == ("Yes, the photos are attached to my first email. A replacement leg would be perfect "
                          "\u2014 no need for a full refund.\n\nChidi")
    assert event.meta["full_text"].startswith(event.text + "\n\nOn Wed, 22 Jul 2026 at 14:05, Northwind Support")
    assert event.meta["full_text"].endswith("> Sorry to hear about the table. Could you send a photo of the damage?"
                                            "\n>\n> > The left leg arrived cracked.")
    assert event.meta["html"].startswith('<div dir="ltr">Yes, the photos are attached')
    assert event.meta["subject"] == "Re: [Ticket #5521] Damaged table leg"
    assert event.attachments == ()


def test_an_in_reply_to_missing_from_references_is_the_last_thread_key(mail):
    # Given a client that sent References without the parent it names in In-Reply-To
    raw = eml("alternative_reply.eml").replace(b"In-Reply-To: <01J3ZK8Q6M2V9B4T7R1X5N0C8D@northwind.example>",
                                               b"In-Reply-To: <parent.9@northwind.example> (Support's message)")
    # Then the parent still closes the list, and the comment after it is not an id
    assert mail.receive_one(raw).thread_keys == ("CAO1a2B3c4D5e6F7g8H9i0J-orig@mail.example.ng",
                                                 "01J3ZK8Q6M2V9B4T7R1X5N0C8D@northwind.example",
                                                 "parent.9@northwind.example")


def test_an_html_only_mail_becomes_readable_text(mail):
    # Given a base64 text/html mail with entities, a list, a link, scripts and a quoted reply
    event = mail.receive_one(eml("html_only.eml"))
    # Then tags are gone, blocks are lines, entities are characters and the link keeps its URL
    assert event.text == (
        "Hi there,\n\nThe tracking page for order NW-4471 says \u201cdelivered\u201d but nothing arrived & the courier "
        "won't answer.\n\n- Order: NW-4471\n- Postcode: 00-950\n\nTracking: carrier page "
        "(https://track.example/NW-4471)\n\nRegards,\nMarta Nowak"
    )
    # And the blockquote is kept as "> " lines in the full text
    assert event.meta["full_text"].endswith("On Mon, 20 Jul 2026 at 09:00, Northwind <support@northwind.example> "
                                            "wrote:\n\n> Your order has shipped.\n> Track it with the link below.")
    assert "alert" not in event.meta["full_text"] and "ignored" not in event.meta["full_text"]
    assert event.meta["html"].startswith("<html><head><title>ignored</title>")


def test_a_koi8r_mail_with_encoded_words_and_a_russian_quote(mail):
    # Given an 8-bit koi8-r body, a koi8-r encoded-word Subject and a UTF-8 encoded-word display name
    event = mail.receive_one(eml("russian_koi8r_reply.eml"))
    # Then everything reads as Russian, and the "… пишет:" history is folded away
    assert event.profile == Profile(name="Анна Смирнова", email="anna.smirnova@example.ru")
    assert event.meta["subject"] == "Re: Возврат заказа 7731"
    assert event.text == "Здравствуйте!\n\nКоробку отправила сегодня, трек-номер RA123456789RU.\n\nС уважением,\nАнна"
    assert event.meta["full_text"].endswith(
        "23.07.2026 10:02, Служба поддержки Northwind пишет:\n> Анна, добрый день!\n"
        "> Пришлите, пожалуйста, трек-номер посылки.")
    assert event.sent_at == "2026-07-23T08:30:00.000Z"
    assert event.thread_keys == ("01J40AQ7ZC3N5R8T1V4X6Z9B2D@northwind.example",)


def test_a_windows1251_outlook_mail_with_attachments_and_an_inline_image(mail):
    # Given an Outlook mail: windows-1251 quoted-printable body, Q/B encoded words, Reply-To, an inline logo and
    # three attachments named with RFC 2231, RFC 2231 continuations (koi8-r) and RFC 2047 in a quoted parameter
    key = "inbound/0a1b2c3d4e5f"
    event = mail.receive_one(eml("cp1251_attachments.eml"), key=key)
    origin = f"s3://{BUCKET}/{key}"
    # Then the reply goes to Reply-To, and names are decoded
    assert event.source_id == "kovalev.i@romashka.example"
    assert event.profile == Profile(name="Игорь Ковалёв", email="kovalev.i@romashka.example")
    assert event.meta["subject"] == "Документы по заказу 7731"
    assert event.meta["cc"] == ["buh@romashka.example"]
    assert event.text == ("Добрый день!\nВо вложении счёт, акт сверки и фото повреждённой коробки.\n\n--\n"
                          "Игорь Ковалёв\nООО «Ромашка»")
    assert event.external_id == "000001dcf0a1$5e2b7c90$1a8275b0@romashka.example"
    # And each attachment points at its part of the stored mail
    assert event.attachments == (
        Attachment(kind=AttachmentKind.FILE, ref=f"{origin}#part=6", name="Счёт № 15.pdf", mime="application/pdf",
                   size=77),
        Attachment(kind=AttachmentKind.FILE, ref=f"{origin}#part=7", name="акт сверки.txt", mime="text/plain",
                   size=43),
        Attachment(kind=AttachmentKind.IMAGE, ref=f"{origin}#part=8", name="фото коробки.jpg", mime="image/jpeg",
                   size=62),
    )
    # And the logo the HTML shows is an inline image, not an attachment
    assert event.meta["inline_images"] == [{"content_id": "logo.7f3a@romashka.example", "ref": f"{origin}#part=5",
                                            "mime": "image/png", "name": "image001.png", "size": 67}]
    assert 'src="cid:logo.7f3a@romashka.example"' in event.meta["html"]
    assert "Во вложении счёт" in event.meta["html"]


def test_the_part_index_finds_the_attachment_again_in_the_raw_mail():
    # Given the ref of the PDF (part=6)
    parts = list(mime.parse(eml("cp1251_attachments.eml")).walk())
    # Then walking the stored mail reaches the PDF's bytes at that index
    assert parts[6].get_payload(decode=True).startswith(b"%PDF-1.4")


def test_an_image_with_a_content_id_the_html_does_not_show_is_an_attachment(mail):
    raw = eml("cp1251_attachments.eml").replace(b"cid:logo.7f3a@romashka.example", b"https://romashka.example/l.png")
    event = mail.receive_one(raw)
    assert "inline_images" not in event.meta
    assert event.attachments[0].name == "image001.png"
    assert event.attachments[0].kind is AttachmentKind.IMAGE


def test_an_outlook_reply_drops_the_unquoted_history_block(mail):
    event = mail.receive_one(eml("outlook_reply.eml"))
    assert event.text == "Thanks - the refund showed up today.\n\nBest regards,\nPriya Raman\nRaman Consulting Ltd."
    assert "Sent: Friday, July 24, 2026 9:12 AM" in event.meta["full_text"]


def test_an_unknown_charset_and_raw_8bit_headers_still_read(mail):
    # Given a charset label nobody knows over UTF-8 bytes, and 8-bit header bytes sent without RFC 2047
    event = mail.receive_one(eml("broken_charset.eml"))
    # Then the bytes are read as UTF-8 rather than lost
    assert event.text == "Lampen kom ødelagt. Kan dere sende en ny?"
    assert event.profile.name == "Zoë Ångström"
    assert event.meta["subject"] == "Bestilling – ødelagt lampe"


def test_raw_koi8r_header_bytes_are_read_in_the_bodys_charset(mail):
    # Given a koi8-r mail whose client also put koi8-r bytes, unencoded, into Subject and From
    subject, name = "Вопрос по доставке".encode("koi8-r"), "Пётр".encode("koi8-r")
    raw = (b"From: " + name + b" <petr@example.ru>\r\nTo: " + SUPPORT.encode() + b"\r\nSubject: " + subject
           + b"\r\nMessage-ID: <raw8bit.1@example.ru>\r\nDate: Mon, 27 Jul 2026 08:00:00 +0300\r\n"
           + b"Content-Type: text/plain; charset=koi8-r\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
           + "Когда привезут?\r\n".encode("koi8-r"))
    event = mail.receive_one(raw)
    assert (event.meta["subject"], event.profile.name, event.text) == ("Вопрос по доставке", "Пётр", "Когда привезут?")


@pytest.mark.parametrize("label", ["win-1251", "x-cp1251", "cp-1251", "WINDOWS-1251"])
def test_misspelt_charset_labels_are_understood(mail, label):
    raw = with_header(eml("russian_koi8r_reply.eml"), f"Content-Type: text/plain; charset={label}".encode(),
                      replacing=b"Content-Type: text/plain; charset=koi8-r")
    raw = raw.replace("Здравствуйте!".encode("koi8-r"), "Здравствуйте!".encode("cp1251"))
    assert mail.receive_one(raw).text.startswith("Здравствуйте!")


def test_a_missing_date_falls_back_to_when_ses_received_the_mail(mail):
    raw = eml("plain_flowed_qp.eml").replace(b"Date: Tue, 21 Jul 2026 10:14:07 +0200\r\n", b"")
    assert mail.receive_one(raw).sent_at == SES_RECEIVED


@pytest.mark.parametrize("date", [b"Date: sometime last week", b"Date: Fri, 01 Jan 2100 00:00:00 +0000"])
def test_an_unreadable_or_future_date_falls_back_to_when_ses_received_the_mail(mail, date):
    raw = with_header(eml("plain_flowed_qp.eml"), date, replacing=b"Date: Tue, 21 Jul 2026 10:14:07 +0200")
    assert mail.receive_one(raw).sent_at == SES_RECEIVED


def test_a_mail_without_a_message_id_uses_the_ses_message_id(mail):
    raw = eml("plain_flowed_qp.eml").replace(b"Message-ID: <5b1e9c2a-7f40-4d8e-a1c3-2f9e8d7c6b5a@example.com>\r\n",
                                             b"")
    assert mail.receive_one(raw, key="inbound/sesid0001").external_id == "sesid0001"


def test_a_mail_without_any_sender_uses_the_envelope_sender(mail):
    raw = eml("plain_flowed_qp.eml").replace(b"From: Dana Whitfield <Dana.Whitfield@Example.com>\r\n", b"")
    event = mail.receive_one(raw)
    assert event.source_id == "bounces+x@mailer.example"
    assert event.profile == Profile(email="bounces+x@mailer.example")


def test_mail_an_operator_sent_from_our_own_address_is_an_echo_to_the_customer(mail):
    # Given a mail from the support address itself, to a customer, with the inbox in copy
    raw = eml("plain_flowed_qp.eml").replace(
        b"From: Dana Whitfield <Dana.Whitfield@Example.com>", b"From: Northwind Support <" + SUPPORT.encode() + b">"
    ).replace(b"To: Northwind Support <support@northwind.example>",
              b"To: Dana Whitfield <dana.whitfield@example.com>\r\nCc: " + SUPPORT.encode())
    event = mail.receive_one(raw)
    # Then it is stored as ours, in the customer's conversation
    assert (event.echo, event.source_id) == (True, "dana.whitfield@example.com")


def test_with_credentials_mail_to_another_inbox_on_the_same_topic_is_left_alone(mail):
    # Given an inbox that lists its receiving addresses, and a topic that also carries another inbox's mail
    credentials = replace(CREDENTIALS, extra={**CREDENTIALS.extra, "addresses": [SUPPORT, "help@northwind.example"]})
    mail.bucket.objects[(BUCKET, "inbound/other")] = eml("plain_flowed_qp.eml")
    elsewhere = received("inbound/other")
    elsewhere["receipt"]["recipients"] = ["sales@northwind.example"]
    ours = received("inbound/other")
    ours["receipt"]["recipients"] = ["Help@Northwind.example"]
    # When each is parsed for this inbox
    # Then only the mail sent to one of its addresses is taken (and the other is not even read from S3)
    assert mail.channel.parse(webhook(notification(elsewhere)), credentials) == []
    assert mail.bucket.reads == []
    assert len(mail.channel.parse(webhook(notification(ours)), credentials)) == 1


def test_with_credentials_an_operators_copy_from_the_sender_address_is_an_echo(mail):
    # Given a mail from the inbox's sender address that reached it through another receiving address (a Bcc)
    raw = eml("plain_flowed_qp.eml").replace(
        b"From: Dana Whitfield <Dana.Whitfield@Example.com>", b"From: Northwind Support <" + SUPPORT.encode() + b">"
    ).replace(b"To: Northwind Support <support@northwind.example>", b"To: Dana Whitfield <dana.whitfield@example.com>")
    mail.bucket.objects[(BUCKET, "inbound/bcc")] = raw
    copy = received("inbound/bcc")
    copy["receipt"]["recipients"] = ["archive@northwind.example"]
    # When it is parsed with the inbox's credentials
    (event,) = mail.channel.parse(webhook(notification(copy)), CREDENTIALS)
    # Then it is ours, in the customer's conversation
    assert (event.echo, event.source_id) == (True, "dana.whitfield@example.com")


# --- parse: auto-replies and bounces ------------------------------------------------------------------------------


def test_an_auto_reply_is_not_a_message(mail):
    assert mail.receive(eml("auto_reply.eml")) == []


@pytest.mark.parametrize(
    "header",
    [b"Auto-Submitted: auto-generated", b"Auto-Submitted: auto-notified; owner-email=x@y", b"X-Autoreply: yes",
     b"X-Autorespond: Out of office", b"Precedence: bulk", b"Precedence: auto_reply", b"Precedence: junk"],
)
def test_automatic_mail_is_recognised_by_its_headers(mail, header):
    assert mail.receive(with_header(eml("plain_flowed_qp.eml"), header)) == []


@pytest.mark.parametrize("header", [b"Auto-Submitted: no", b"Precedence: list", b"X-Autoreply: no"])
def test_mail_that_says_it_is_not_automatic_is_a_message(mail, header):
    assert len(mail.receive(with_header(eml("plain_flowed_qp.eml"), header))) == 1


def test_a_bounce_of_our_mail_fails_the_message_and_marks_the_address_unreachable(mail):
    # Given a DSN for a reply SES sent (SES replaced its Message-ID; ours is the last References entry)
    events = mail.receive(eml("bounce_dsn.eml"))
    # Then our message failed with the remote server's reason, and the address does not exist (5.1.1)
    at = "2026-07-25T12:00:09.000Z"
    assert events == [
        DeliveryReceipt(external_id=OUR_ID, status="failed", at=at, source_id="ghost@example.org",
                        reason="The recipient's mail server returned the message: 550 5.1.1 <ghost@example.org>: "
                               "Recipient address rejected: User unknown"),
        ReachabilityChanged(source_id="ghost@example.org", reachable=False, at=at,
                            profile=Profile(email="ghost@example.org")),
    ]


def test_a_bounce_with_the_original_message_attached_names_its_message_id(mail):
    # Given a DSN that attaches the whole original (message/rfc822) rather than its headers, for a 4.x.x failure
    raw = eml("bounce_dsn.eml").replace(b"Content-Type: text/rfc822-headers", b"Content-Type: message/rfc822")
    raw = raw.replace(b"<0102019a3f0c7e21-5d6b8e2f-0c4a-4e7b-9d1a-3f5e7a9c1b2d-000000@eu-west-1.amazonses.com>",
                      b"<plain-id.77@northwind.example>").replace(b"Status: 5.1.1", b"Status: 4.2.2")
    events = mail.receive(raw)
    assert [type(event) for event in events] == [DeliveryReceipt]
    assert events[0].external_id == "plain-id.77@northwind.example"


def test_a_bounce_that_names_no_message_is_dropped(mail):
    raw = eml("bounce_dsn.eml")
    raw = raw[: raw.index(b"--6A1F2C0123.1785067209/mx1.example.org\r\nContent-Description: Undelivered")]
    assert mail.receive(raw + b"--6A1F2C0123.1785067209/mx1.example.org--\r\n") == []


def test_a_plain_mailer_daemon_bounce_quoting_the_message_id(mail):
    raw = (b"From: MAILER-DAEMON@mx.example.org\r\nTo: " + SUPPORT.encode() + b"\r\nSubject: failure notice\r\n"
           b"Date: Mon, 27 Jul 2026 08:00:00 +0000\r\nContent-Type: text/plain\r\n\r\n"
           b"Sorry, I couldn't deliver your message.\r\n\r\n--- Below this line is a copy of the message.\r\n\r\n"
           b"Message-ID: <plain-id.88@northwind.example>\r\nSubject: Re: Order\r\n")
    (event,) = mail.receive(raw)
    assert (event.external_id, event.status, event.source_id) == ("plain-id.88@northwind.example", "failed", None)


def test_a_read_receipt_report_is_not_a_message(mail):
    raw = eml("bounce_dsn.eml").replace(b"report-type=delivery-status", b"report-type=disposition-notification")
    raw = raw.replace(b"MAILER-DAEMON@mx1.example.org", b"reader@example.org")
    assert mail.receive(raw) == []


# --- parse: SES events about our own mail -----------------------------------------------------------------------


def ses_event(kind: str, details: dict, *, key: str = "notificationType", headers: bool = True) -> dict:
    sent = {"timestamp": "2026-07-27T09:00:00.000Z", "source": SUPPORT, "messageId": SES_OUT_ID,
            "sourceArn": "arn:aws:ses:eu-west-1:111122223333:identity/northwind.example",
            "destination": ["customer@example.org"], "headersTruncated": False}
    if headers:
        sent["headers"] = [{"name": "From", "value": f"Northwind Support <{SUPPORT}>"},
                           {"name": "Message-ID", "value": f"<{OUR_ID}>"}]
        sent["commonHeaders"] = {"from": [f"Northwind Support <{SUPPORT}>"], "to": ["customer@example.org"],
                                 "messageId": f"<{OUR_ID}>", "subject": "Re: Order NW-4502"}
    return {key: kind, "mail": sent, **details}


def parse_event(mail: Harness, event: dict) -> list:
    return mail.channel.parse(webhook(notification(event, topic=EVENTS_TOPIC, subject=None)))


DELIVERY = {"delivery": {"timestamp": "2026-07-27T09:00:02.114Z", "processingTimeMillis": 2114,
                         "recipients": ["Customer@Example.org"], "smtpResponse": "250 2.6.0 Message received",
                         "reportingMTA": "a1-23.smtp-out.eu-west-1.amazonses.com"}}


@pytest.mark.parametrize("key", ["notificationType", "eventType"])
def test_a_delivery_event_marks_our_message_delivered(mail, key):
    # Given SES's Delivery notification (or the event-publishing form of it) for a reply we sent
    events = parse_event(mail, ses_event("Delivery", DELIVERY, key=key))
    # Then the receipt names our Message-ID, which is what send() reported
    assert events == [DeliveryReceipt(external_id=OUR_ID, status="delivered", at="2026-07-27T09:00:02.114Z",
                                      source_id="customer@example.org")]


def test_with_credentials_events_about_another_inboxs_mail_are_left_alone(mail):
    other = ses_event("Delivery", DELIVERY)
    other["mail"]["source"] = "Sales <sales@northwind.example>"
    assert mail.channel.parse(webhook(notification(other, topic=EVENTS_TOPIC)), CREDENTIALS) == []
    assert len(mail.channel.parse(webhook(notification(ses_event("Delivery", DELIVERY), topic=EVENTS_TOPIC)),
                                  CREDENTIALS)) == 1


def test_an_event_without_original_headers_falls_back_to_the_ses_message_id(mail):
    (event,) = parse_event(mail, ses_event("Delivery", DELIVERY, headers=False))
    assert event.external_id == SES_OUT_ID


def test_a_permanent_bounce_fails_the_message_and_the_address(mail):
    bounce = {"bounce": {"bounceType": "Permanent", "bounceSubType": "General", "timestamp": "2026-07-27T09:00:03.5Z",
                         "bouncedRecipients": [{"emailAddress": "Ghost@Example.org", "action": "failed",
                                                "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
                         "feedbackId": "0102019a-feedback-000000", "reportingMTA": "dsn; a1-23.smtp-out.amazonses.com"}}
    at = "2026-07-27T09:00:03.500Z"
    assert parse_event(mail, ses_event("Bounce", bounce)) == [
        DeliveryReceipt(external_id=OUR_ID, status="failed", at=at, source_id="ghost@example.org",
                        reason="The message bounced. (Permanent bounce: 550 5.1.1 user unknown)"),
        ReachabilityChanged(source_id="ghost@example.org", reachable=False, at=at,
                            profile=Profile(email="ghost@example.org")),
    ]


def test_a_suppressed_address_says_so(mail):
    bounce = {"bounce": {"bounceType": "Permanent", "bounceSubType": "Suppressed", "timestamp": "2026-07-27T09:00:03Z",
                         "bouncedRecipients": [{"emailAddress": "ghost@example.org"}]}}
    receipt = parse_event(mail, ses_event("Bounce", bounce))[0]
    assert receipt.reason == ("SES did not send it: the address is on SES's suppression list after earlier hard "
                              "bounces. (Permanent bounce)")


def test_a_transient_bounce_fails_the_message_but_not_the_address(mail):
    bounce = {"bounce": {"bounceType": "Transient", "bounceSubType": "MailboxFull", "timestamp": "2026-07-27T09:05:00Z",
                         "bouncedRecipients": [{"emailAddress": "full@example.org",
                                                "diagnosticCode": "smtp; 552 5.2.2 mailbox full"}]}}
    assert parse_event(mail, ses_event("Bounce", bounce)) == [
        DeliveryReceipt(external_id=OUR_ID, status="failed", at="2026-07-27T09:05:00.000Z",
                        source_id="full@example.org",
                        reason="The recipient's mailbox is full. (Transient bounce: 552 5.2.2 mailbox full)"),
    ]


def test_a_complaint_makes_the_address_unreachable(mail):
    complaint = {"complaint": {"complainedRecipients": [{"emailAddress": "angry@example.org"}],
                               "timestamp": "2026-07-27T11:00:00.000Z", "feedbackId": "0102019a-complaint",
                               "complaintFeedbackType": "abuse", "userAgent": "ExampleMail FBL"}}
    assert parse_event(mail, ses_event("Complaint", complaint)) == [
        ReachabilityChanged(source_id="angry@example.org", reachable=False, at="2026-07-27T11:00:00.000Z",
                            profile=Profile(email="angry@example.org")),
    ]


def test_a_not_spam_complaint_changes_nothing(mail):
    complaint = {"complaint": {"complainedRecipients": [{"emailAddress": "calm@example.org"}],
                               "timestamp": "2026-07-27T11:00:00.000Z", "complaintFeedbackType": "not-spam"}}
    assert parse_event(mail, ses_event("Complaint", complaint)) == []


def test_a_rejected_send_fails_the_message(mail):
    (event,) = parse_event(mail, ses_event("Reject", {"reject": {"reason": "Bad content"}}, key="eventType"))
    assert (event.external_id, event.status, event.reason) == (
        OUR_ID, "failed", "SES refused to send the message (Bad content).")


@pytest.mark.parametrize("kind", ["Send", "Open", "Click", "DeliveryDelay", "AmazonSnsSubscriptionSucceeded"])
def test_other_ses_events_are_acknowledged_and_ignored(mail, kind):
    assert parse_event(mail, ses_event(kind, {}, key="eventType")) == []


@pytest.mark.parametrize("message", ["plain text, not JSON", "[1]", "null"])
def test_an_sns_message_that_is_not_an_ses_notification_is_a_bad_request(mail, message):
    with pytest.raises(BadRequest, match="not an SES notification"):
        mail.channel.parse(webhook(notification(message)))


def test_a_receipt_without_stored_or_inline_mail_is_ignored(mail):
    without_mail = received("x")
    without_mail["receipt"]["action"] = {"type": "Lambda", "functionArn": "arn:aws:lambda:eu-west-1:1:function:f"}
    assert mail.channel.parse(webhook(notification(without_mail))) == []


# --- quote folding and HTML, case by case -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thanks!\n\n-----Original Message-----\nFrom: Support\nSent: Monday\n\nOld text", "Thanks!"),
        ("Danke!\n\n-----Ursprüngliche Nachricht-----\nVon: Support", "Danke!"),
        ("Спасибо!\n\n-----Исходное сообщение-----\nОт: Поддержка", "Спасибо!"),
        ("Спасибо!\n\nОт: Поддержка <support@northwind.example>\nОтправлено: 24 июля 2026 г. 9:12\nТема: Заказ\n\n"
         "Старый текст", "Спасибо!"),
        ("Ok.\n\nAm 20.07.2026 um 09:00 schrieb Northwind Support:\n> Hallo", "Ok."),
        ("Merci.\n\nLe lun. 20 juil. 2026 à 09:00, Northwind <support@northwind.example> a écrit :\n> Bonjour",
         "Merci."),
        ("Fine.\n\n20.07.2026, 09:00, \"Northwind\" <support@northwind.example>:\n> Добрый день", "Fine."),
        ("Fine.\n> quoted at the very end", "Fine."),
        ("Here is what your site says:\n> Delivery in 2 days", "Here is what your site says:"),  # not a date line
    ],
)
def test_quoted_history_is_folded(text, expected):
    assert mime.fold_quoted(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "On Mon, Support wrote:\n> Which size?\nLarge, please.\n> Which colour?\nBlue.",  # answers between quotes
        "> just a quote, nothing new",  # nothing above the history: keep it all
        "I wrote: this is important\nand this too.",  # "wrote:" in ordinary text
        "Thanks!\n__________\nSigned with a pen",  # a rule of underscores with no Outlook header under it
    ],
)
def test_text_that_is_not_only_history_is_kept_whole(text):
    assert mime.fold_quoted(text) == text


def test_html_pre_blocks_keep_their_lines():
    assert mime.html_to_text("<p>Log:</p><pre>line 1\n  line 2</pre><p>end</p>") == "Log:\n\nline 1\n  line 2\n\nend"


def test_format_flowed_with_delsp_joins_without_the_space():
    assert mime.unflow("Hello wor \nld.\n>> quo \n>> ted\n", delsp=True) == "Hello world.\n> > quoted\n"


# --- the default S3 reader against moto ---------------------------------------------------------------------------


@pytest.fixture
def aws(monkeypatch) -> Iterator[None]:
    for name, value in {"AWS_DEFAULT_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("SES_REGION", raising=False)
    email_channel._client.cache_clear()
    with mock_aws():
        yield
    email_channel._client.cache_clear()


def test_the_default_reader_fetches_the_mail_from_s3(aws, mail):
    # Given the mail in a (moto) bucket, read by the default reader
    s3 = boto3.client("s3", region_name="eu-west-1")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(Bucket=BUCKET, Key="inbound/real", Body=eml("russian_koi8r_reply.eml"))
    channel = EmailChannel(fetch_certificate=mail.certificates)
    # When the notification is parsed
    (event,) = channel.parse(webhook(notification(received("inbound/real"))))
    # Then the stored bytes were read and parsed
    assert event.external_id == "1721723400.812345@mail.example.ru"
    # And a notification for an object that is not there is a bad request, not a retry
    with pytest.raises(BadRequest, match="not in S3"):
        channel.parse(webhook(notification(received("inbound/gone"))))


# --- send -------------------------------------------------------------------------------------------------------


@dataclass
class FileServer:
    files: dict[str, tuple[int, bytes, str]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    base_url: str = ""


@pytest.fixture
def file_server() -> Iterator[FileServer]:
    """Pre-signed attachment URLs, served from 127.0.0.1."""
    served = FileServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            served.requests.append(self.path)
            status, body, content_type = served.files.get(self.path.split("?")[0], (404, b"NoSuchKey", "text/plain"))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    served.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield served
    server.shutdown()
    server.server_close()
    thread.join()


REPLY = OutboundMessage(
    source_id="chidi.okafor@example.ng",
    text="Hi Chidi,\n\nA new leg is on its way: https://track.example/NW-5521.\nIt should arrive on Friday.\n\n"
         "<b>Northwind</b> Support",
    message_id="01J43REPLY0000000000000001",
    subject="Re: RE: [Ticket #5521] Damaged table leg",
    thread_keys=("<CAO1a2B3c4D5e6F7g8H9i0J-orig@mail.example.ng>", "01J3ZK8Q6M2V9B4T7R1X5N0C8D@northwind.example",
                 "CAO9x7Kd2mQpL4rTz8vW1nYbH3sE6fJ0uGc5aX@mail.example.ng"),
    buttons=(("Great", "csat:5:conv-5521"), ("OK", "csat:3:conv-5521"), ("Bad", "csat:1:conv-5521")),
)
OWN_ID = "01J43REPLY0000000000000001@northwind.example"


def alternatives(sent: EmailMessage) -> tuple[str, str]:
    plain = sent.get_body(preferencelist=("plain",))
    html = sent.get_body(preferencelist=("html",))
    # Parsed back from SMTP's CRLF lines; compare as the LF text the operator wrote.
    return plain.get_content().replace("\r\n", "\n"), html.get_content().replace("\r\n", "\n")


def test_a_reply_is_a_threaded_mime_message_with_links_and_an_attachment(mail, file_server):
    # Given an inbox with a CSAT link template, and a reply with one attachment behind a pre-signed URL
    file_server.files["/att/label.pdf"] = (200, b"%PDF-1.7 return label", "application/pdf")
    credentials = replace(CREDENTIALS, extra={**CREDENTIALS.extra,
                                              "csat_url": "https://northwind.example/csat?m={message_id}&d={data}"})
    attachment = OutboundAttachment(kind="file", url=f"{file_server.base_url}/att/label.pdf?X-Amz-Signature=s3cr3t",
                                    name="Rücksendeetikett.pdf")
    # When it is sent
    result = mail.channel.send(replace(REPLY, attachments=(attachment,)), credentials, api_base="")
    # Then SES got one raw message from the inbox's address to the customer, and our Message-ID is the result
    (raw, source, destinations), = mail.ses.sent
    assert (source, destinations, result.external_id) == (SUPPORT, ["chidi.okafor@example.ng"], OWN_ID)
    assert b"\r\n" in raw and max(len(line) for line in raw.split(b"\r\n")) <= 998
    sent = mail.ses.last()
    # And the headers thread it under the customer's last mail, with a single "Re: "
    assert sent["From"].addresses[0].display_name == "Northwind Support"
    assert sent["From"].addresses[0].addr_spec == SUPPORT
    assert str(sent["To"]) == "chidi.okafor@example.ng"
    assert str(sent["Subject"]) == "Re: [Ticket #5521] Damaged table leg"
    assert str(sent["Message-ID"]) == f"<{OWN_ID}>"
    assert str(sent["In-Reply-To"]) == "<CAO9x7Kd2mQpL4rTz8vW1nYbH3sE6fJ0uGc5aX@mail.example.ng>"
    # (our own id closes References: SES rewrites Message-ID, and replies copy References back to us)
    assert mime.message_ids(str(sent["References"])) == [
        "CAO1a2B3c4D5e6F7g8H9i0J-orig@mail.example.ng", "01J3ZK8Q6M2V9B4T7R1X5N0C8D@northwind.example",
        "CAO9x7Kd2mQpL4rTz8vW1nYbH3sE6fJ0uGc5aX@mail.example.ng", OWN_ID]
    # And both alternatives carry the text, the buttons as links, and the HTML escapes what the operator typed
    plain, html = alternatives(sent)
    link = "https://northwind.example/csat?m=01J43REPLY0000000000000001&d=csat%3A5%3Aconv-5521"
    assert plain.startswith("Hi Chidi,\n\nA new leg is on its way: https://track.example/NW-5521.\n")
    assert f"Great: {link}\n" in plain
    assert f'href="{link.replace("&", "&amp;")}"' in html and ">Great</a>" in html
    assert '<a href="https://track.example/NW-5521">https://track.example/NW-5521</a>.<br>' in html
    assert "&lt;b&gt;Northwind&lt;/b&gt; Support" in html and "<b>" not in html
    # And the attachment was fetched and attached under its (RFC 2231-encoded) name
    (attached,) = list(sent.iter_attachments())
    assert (attached.get_filename(), attached.get_content_type()) == ("Rücksendeetikett.pdf", "application/pdf")
    assert attached.get_content() == b"%PDF-1.7 return label"
    assert file_server.requests == ["/att/label.pdf?X-Amz-Signature=s3cr3t"]


def test_a_retried_send_reuses_the_message_id(mail):
    first = mail.channel.send(REPLY, CREDENTIALS, api_base="")
    second = mail.channel.send(REPLY, CREDENTIALS, api_base="")
    assert first == second
    assert [message_from_bytes(raw)["Message-ID"] for raw, _, _ in mail.ses.sent] == [f"<{OWN_ID}>"] * 2


def test_without_a_csat_url_the_buttons_are_a_numbered_list(mail):
    mail.channel.send(REPLY, CREDENTIALS, api_base="")
    plain, html = alternatives(mail.ses.last())
    assert plain.endswith("Support\n\n1. Great\n2. OK\n3. Bad\n")
    assert "<ol><li>Great</li><li>OK</li><li>Bad</li></ol>" in html
    assert "href=\"https://northwind" not in html


def test_a_csat_link_can_carry_a_token_the_landing_page_can_check(mail):
    credentials = replace(CREDENTIALS, extra={**CREDENTIALS.extra,
                                              "csat_url": "https://northwind.example/csat/{data}?t={token}"})
    mail.channel.send(REPLY, credentials, api_base="")
    plain, _html = alternatives(mail.ses.last())
    token = csat_token(credentials, REPLY.message_id, "csat:1:conv-5521")
    assert f"Bad: https://northwind.example/csat/csat%3A1%3Aconv-5521?t={token}\n" in plain


def test_a_broken_csat_template_still_sends_the_choices(mail):
    credentials = replace(CREDENTIALS, extra={**CREDENTIALS.extra, "csat_url": "https://x.example/{rating}"})
    mail.channel.send(REPLY, credentials, api_base="")
    assert alternatives(mail.ses.last())[0].endswith("1. Great\n2. OK\n3. Bad\n")


def test_a_new_thread_keeps_its_subject_and_references_only_itself(mail):
    mail.channel.send(replace(REPLY, thread_keys=(), subject="Your replacement leg", buttons=()), CREDENTIALS, "")
    sent = mail.ses.last()
    assert str(sent["Subject"]) == "Your replacement leg"
    assert sent["In-Reply-To"] is None
    assert str(sent["References"]) == f"<{OWN_ID}>"


def test_a_reply_to_id_alone_threads_the_reply(mail):
    # Given a service that only knows which customer mail is being answered
    mail.channel.send(replace(REPLY, thread_keys=(), reply_to_external_id="CAO9x7@mail.example.ng"), CREDENTIALS, "")
    sent = mail.ses.last()
    assert str(sent["In-Reply-To"]) == "<CAO9x7@mail.example.ng>"
    assert str(sent["Subject"]) == "Re: [Ticket #5521] Damaged table leg"


def test_a_reply_without_a_subject_gets_the_inbox_default(mail):
    credentials = replace(CREDENTIALS, extra={**CREDENTIALS.extra, "default_subject": "Northwind Support"})
    mail.channel.send(replace(REPLY, subject=None), credentials, "")
    assert str(mail.ses.last()["Subject"]) == "Northwind Support"


def test_a_long_thread_keeps_its_root_and_latest_references(mail):
    keys = tuple(f"m{number}@example.org" for number in range(30))
    mail.channel.send(replace(REPLY, thread_keys=keys), CREDENTIALS, "")
    references = mime.message_ids(str(mail.ses.last()["References"]))
    assert references[0] == "m0@example.org" and references[-2:] == ["m29@example.org", OWN_ID]
    assert len(references) == 20


def test_russian_text_and_names_are_encoded_for_transport(mail):
    credentials = replace(CREDENTIALS, extra={**CREDENTIALS.extra, "from_name": "Служба поддержки Northwind",
                                              "configuration_set": "northwind-replies"})
    message = replace(REPLY, source_id="anna.smirnova@example.ru", subject="Возврат заказа 7731",
                      text="Анна, спасибо! Деньги вернём в течение 3 дней.", buttons=())
    mail.channel.send(message, credentials, "")
    raw = mail.ses.sent[-1][0]
    assert raw.isascii()  # every header and part is 7-bit on the wire
    sent = mail.ses.last()
    assert sent["From"].addresses[0].display_name == "Служба поддержки Northwind"
    assert str(sent["Subject"]) == "Re: Возврат заказа 7731"
    assert alternatives(sent)[0] == "Анна, спасибо! Деньги вернём в течение 3 дней.\n"
    assert str(sent["X-SES-CONFIGURATION-SET"]) == "northwind-replies"


@pytest.mark.parametrize(
    ("status", "transient", "message"),
    [(404, False, "may have expired"), (403, False, "may have expired"), (503, True, "will retry")],
)
def test_an_attachment_that_cannot_be_fetched_fails_the_send(mail, file_server, status, transient, message):
    file_server.files["/att/x.pdf"] = (status, b"<Error/>", "application/xml")
    attachment = OutboundAttachment(kind="file", url=f"{file_server.base_url}/att/x.pdf?sig=secret", name="x.pdf")
    with pytest.raises(DeliveryFailed, match=message) as failure:
        mail.channel.send(replace(REPLY, attachments=(attachment,)), CREDENTIALS, "")
    assert failure.value.transient is transient
    assert "secret" not in failure.value.detail
    assert mail.ses.sent == []


def test_an_oversized_attachment_fails_permanently(mail, file_server):
    file_server.files["/att/big.bin"] = (200, b"\0" * (10 * 1024 * 1024 + 1), "application/octet-stream")
    attachment = OutboundAttachment(kind="file", url=f"{file_server.base_url}/att/big.bin")
    with pytest.raises(DeliveryFailed, match="larger than e-mail allows") as failure:
        mail.channel.send(replace(REPLY, attachments=(attachment,)), CREDENTIALS, "")
    assert failure.value.transient is False


def test_an_attachment_declared_too_large_is_not_even_fetched(mail, file_server):
    attachment = OutboundAttachment(kind="file", url=f"{file_server.base_url}/att/big.bin", size=11 * 1024 * 1024)
    with pytest.raises(DeliveryFailed, match="larger than e-mail allows"):
        mail.channel.send(replace(REPLY, attachments=(attachment,)), CREDENTIALS, "")
    assert file_server.requests == []


def test_an_attachment_without_a_type_is_typed_by_its_server(mail, file_server):
    file_server.files["/att/photo"] = (200, b"\x89PNG\r\n\x1a\n", "image/png; charset=binary")
    attachment = OutboundAttachment(kind="image", url=f"{file_server.base_url}/att/photo")
    mail.channel.send(replace(REPLY, attachments=(attachment,)), CREDENTIALS, "")
    (attached,) = list(mail.ses.last().iter_attachments())
    assert (attached.get_filename(), attached.get_content_type()) == ("photo", "image/png")


def ses_error(code: str, message: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message, "Type": "Sender"},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, "SendEmail")


@pytest.mark.parametrize(
    ("error", "transient", "detail"),
    [
        (ses_error("MessageRejected", "Email address is not verified. The following identities failed the check in "
                   "region EU-WEST-1: chidi.okafor@example.ng"), False,
         "SES rejected the message: Email address is not verified. The following identities failed the check in "
         "region EU-WEST-1: chidi.okafor@example.ng (in the SES sandbox every recipient must be verified too)"),
        (ses_error("MessageRejected", "Message length is more than 40 MB"), False,
         "SES rejected the message: Message length is more than 40 MB"),
        (ses_error("AccountSendingPausedException", "Sending paused"), False,
         "SES sending is paused for this account."),
        (ses_error("SendingPausedException", "Sending paused"), False, "SES sending is paused for this account."),
        (ses_error("MailFromDomainNotVerifiedException", "x"), False,
         "SES cannot find the MX record of the custom MAIL FROM domain; check its DNS."),
        (ses_error("Throttling", "Maximum sending rate exceeded."), True,
         "SES could not take the message right now (Maximum sending rate exceeded.); will retry."),
        (ses_error("TooManyRequestsException", "Too many requests"), True,
         "SES could not take the message right now (Too many requests); will retry."),
        (ses_error("ServiceUnavailable", "Service is unavailable", status=503), True,
         "SES could not take the message right now (Service is unavailable); will retry."),
        (ses_error("InternalFailure", "oops", status=500), True, "SES could not take the message right now (oops); "
         "will retry."),
        (ses_error("InvalidParameterValue", "Missing final '@domain'"), False,
         "SES refused the message: Missing final '@domain'"),
        (EndpointConnectionError(endpoint_url="https://email.eu-west-1.amazonaws.com"), True,
         "SES could not be reached (EndpointConnectionError); will retry."),
    ],
)
def test_ses_errors_say_what_happened_and_whether_to_retry(mail, error, transient, detail):
    mail.ses.error = error
    with pytest.raises(DeliveryFailed) as failure:
        mail.channel.send(REPLY, CREDENTIALS, "")
    assert (failure.value.detail, failure.value.transient) == (detail, transient)


def test_an_exhausted_daily_quota_is_retried_much_later(mail):
    mail.ses.error = ses_error("Throttling", "Daily message quota exceeded.")
    with pytest.raises(DeliveryFailed) as failure:
        mail.channel.send(REPLY, CREDENTIALS, "")
    assert (failure.value.transient, failure.value.retry_after) == (True, 3600.0)


@pytest.mark.parametrize("recipient", ["not-an-address", "", "@example.org", "someone@"])
def test_a_recipient_that_is_not_an_address_fails_permanently(mail, recipient):
    with pytest.raises(DeliveryFailed, match="not an e-mail address") as failure:
        mail.channel.send(replace(REPLY, source_id=recipient), CREDENTIALS, "")
    assert failure.value.transient is False


def test_an_inbox_without_a_sender_address_cannot_send(mail):
    with pytest.raises(DeliveryFailed, match="no sender address configured"):
        mail.channel.send(REPLY, replace(CREDENTIALS, extra={"topic_arn": TOPIC}), "")


def test_the_default_sender_goes_through_ses(aws):
    # Given a verified sender identity in (moto) SES and the adapter's default sender
    ses = boto3.client("sesv2", region_name="eu-west-1")
    ses.create_email_identity(EmailIdentity=SUPPORT)
    channel = EmailChannel()
    # When a reply is sent
    result = channel.send(REPLY, CREDENTIALS, "")
    # Then SES accepted one message and we report our own Message-ID
    assert result.external_id == OWN_ID
    assert boto3.client("ses", region_name="eu-west-1").get_send_quota()["SentLast24Hours"] >= 1
    # And an unverified sender is SES's MessageRejected, shown to the operator as permanent
    unverified = replace(CREDENTIALS, extra={**CREDENTIALS.extra, "from_address": "nobody@elsewhere.example"})
    with pytest.raises(DeliveryFailed, match="SES rejected the message") as failure:
        channel.send(REPLY, unverified, "")
    assert failure.value.transient is False


def test_capabilities():
    capabilities = EmailChannel.capabilities
    assert (capabilities.can_edit, capabilities.can_delete, capabilities.read_receipts, capabilities.buttons) == (
        False, False, False, 3)
    assert (capabilities.max_text_length, capabilities.max_attachment_bytes) == (100_000, 10 * 1024 * 1024)
    assert EmailChannel.name == "email"
