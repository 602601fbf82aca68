"""E-mail through Amazon SES, as the product receives it: the customer's mail is stored in the InboundMailBucket (in
moto) the way an SES receipt rule's S3 action stores it, and the rule's SNS notification reaches the service as a
signed SNS ``Notification``. Replies are what moto's SES accepted (``/sim/api/mail``).

SNS signs with a key only AWS holds, so the simulator is its own signer: it owns an RSA key and a self-signed
certificate, and hands the certificate to the unchanged production verification through the in-process cache a warm
Lambda fills after fetching a certificate from SNS (``trust_local_sns_signer``). The host check stays as it is."""

from __future__ import annotations

import base64
import datetime
import json
import uuid
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import format_datetime, getaddresses, parseaddr
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from infra.devstack.embedded_aws import REGION
from infra.devstack.simulator.core import Context, customer_request, customer_result, extra

CHANNEL = "email"
SIGNING_CERT_URL = f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-devstack.pem"
CUSTOMER_DOMAIN = "example.org"
_RECEIPT_SUBJECT = "Amazon SES Email Receipt Notification"


def trust_local_sns_signer(url: str, pem: bytes) -> None:
    """Put ``pem`` into the SNS certificate cache under ``url``: what a warm Lambda holds after fetching the
    certificate from SNS. Production code is untouched: ``url`` must still pass its SNS host check, and the signature
    is still verified with this certificate."""
    from infra.devstack.lambdas import put_layer_on_path

    put_layer_on_path()
    from switchboard.channels import sns

    if not sns.is_sns_url(url):
        raise ValueError(f"{url} is not an SNS certificate URL; the service would never trust it")
    sns._CERTIFICATES[url] = pem


class SnsSigner:
    """An RSA key and a self-signed certificate, made at startup; signs SNS envelopes as SignatureVersion 1."""

    def __init__(self, url: str = SIGNING_CERT_URL) -> None:
        self.url = url
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"sns.{REGION}.amazonaws.com (devstack)")])
        now = datetime.datetime.now(datetime.UTC)
        certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                       .public_key(self._key.public_key()).serial_number(x509.random_serial_number())
                       .not_valid_before(now - datetime.timedelta(days=1))
                       .not_valid_after(now + datetime.timedelta(days=365))
                       .sign(self._key, hashes.SHA256()))
        self.pem = certificate.public_bytes(serialization.Encoding.PEM)

    def trust(self) -> None:
        trust_local_sns_signer(self.url, self.pem)

    def sign(self, envelope: dict[str, Any]) -> dict[str, Any]:
        from switchboard.channels import sns

        signed = envelope | {"SignatureVersion": "1", "SigningCertURL": self.url}
        signature = self._key.sign(sns.string_to_sign(signed), padding.PKCS1v15(), hashes.SHA1())
        return signed | {"Signature": base64.b64encode(signature).decode("ascii")}


def _bracketed(message_id: Any) -> str:
    value = str(message_id or "").strip().strip("<>").strip()
    return f"<{value}>" if value else ""


def _iso(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parsed(raw: Any) -> Message:
    data = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw or b"")
    return BytesParser(policy=policy.default).parsebytes(data)


def _text_of(message: Message) -> str:
    if isinstance(message, EmailMessage):
        part = message.get_body(preferencelist=("plain", "html"))
        if part is not None:
            return str(part.get_content()).strip()
    return ""


def mail_summary(message: Any) -> dict[str, Any]:
    """A mail moto's SES accepted, with what the customer would see: recipients, subject, text and threading."""
    fields = ("id", "source", "destinations", "subject", "body", "raw_data", "template", "template_data")
    summary = {name: getattr(message, name) for name in fields if hasattr(message, name)}
    destinations = summary.get("destinations")
    if isinstance(destinations, dict):  # formatted mail: {"ToAddresses": [...], ...}
        destinations = [value for values in destinations.values() for value in values]
    addresses = [address.lower() for _, address in getaddresses([str(value) for value in destinations or []])]
    summary["to"] = list(dict.fromkeys(address for address in addresses if address))
    raw = summary.get("raw_data")
    if raw:
        mail = _parsed(raw)
        summary |= {"subject": str(mail.get("Subject") or ""), "from": str(mail.get("From") or ""),
                    "text": _text_of(mail), "message_id": str(mail.get("Message-ID") or ""),
                    "in_reply_to": str(mail.get("In-Reply-To") or ""),
                    "references": str(mail.get("References") or "")}
    else:
        summary |= {"text": str(summary.get("body") or ""), "message_id": "", "in_reply_to": "", "references": ""}
    return summary


class Email:
    """The e-mail customer: mail into the InboundMailBucket, and a signed SNS notification of it to the service."""

    channels = (CHANNEL,)

    def __init__(self, context: Context, bucket: str | None = None, topic_arn: str | None = None,
                 sent: Any = None) -> None:
        self._context = context
        self.bucket = bucket
        self.topic_arn = topic_arn
        self._sent = sent or (lambda: [])
        self.signer = SnsSigner()
        self.signer.trust()

    def routes(self) -> list[Route]:
        return [Route("/api/email/{inbox_id}/send", self._customer_sends, methods=["POST"])]

    async def _customer_sends(self, request: Request) -> JSONResponse:
        """{"from", "name", "subject", "text", "in_reply_to"?} as mail in S3 and an SES receipt notification."""
        found = await customer_request(self._context, request, CHANNEL, "e-mail inbox", "from", "text")
        if isinstance(found, JSONResponse):
            return found
        inbox, data = found
        if not self.bucket:
            return JSONResponse({"detail": "the simulator was not told the InboundMailBucket"}, status_code=503)
        sender = parseaddr(str(data["from"]))[1].strip().lower()
        if "@" not in sender:
            return JSONResponse({"detail": "from must be an e-mail address"}, status_code=400)
        mail = self._mail(inbox, sender, data)
        key = f"inbound/{uuid.uuid4().hex}"
        await run_in_threadpool(self._store, key, mail.as_bytes(policy=policy.SMTP))
        notification = self._notification(inbox, mail, sender, key)
        envelope = self._envelope(inbox, notification)
        body = json.dumps(envelope).encode("utf-8")
        self.signer.trust()  # again: the cache is bounded, and a test may have emptied it
        response = await self._context.webhooks.post(CHANNEL, inbox["id"], body, {
            "x-amz-sns-message-type": "Notification", "x-amz-sns-message-id": envelope["MessageId"],
            "x-amz-sns-topic-arn": envelope["TopicArn"], "Content-Type": "text/plain; charset=UTF-8"})
        return customer_result(response, envelope, message_id=str(mail["Message-ID"]))

    def _topic(self, inbox: dict[str, Any]) -> str:
        return extra(inbox, "topic_arn") or self.topic_arn or ""

    def _mail(self, inbox: dict[str, Any], sender: str, data: dict[str, Any]) -> EmailMessage:
        mail = EmailMessage(policy=policy.default)
        local, _, domain = sender.partition("@")
        mail["From"] = Address(display_name=str(data.get("name") or ""), username=local, domain=domain)
        mail["To"] = Address(display_name=extra(inbox, "from_name"), addr_spec=extra(inbox, "from_address"))
        mail["Subject"] = str(data.get("subject") or "")
        mail["Date"] = format_datetime(datetime.datetime.now(datetime.UTC))
        mail["Message-ID"] = f"<{uuid.uuid4()}@{CUSTOMER_DOMAIN}>"
        parent = _bracketed(data.get("in_reply_to"))
        if parent:
            mail["In-Reply-To"] = parent
            mail["References"] = " ".join([*self._references_of(parent), parent])
        mail.set_content(str(data["text"]))
        return mail

    def _references_of(self, parent: str) -> list[str]:
        """The References of the mail being answered (when SES sent it), as a mail client copies them."""
        for sent in self._sent():
            summary = mail_summary(sent)
            if _bracketed(summary.get("message_id")) == parent:
                return [ref for ref in summary.get("references", "").split() if ref != parent]
        return []

    def _store(self, key: str, raw: bytes) -> None:
        import boto3

        boto3.client("s3", region_name=REGION).put_object(Bucket=self.bucket, Key=key, Body=raw)

    def _notification(self, inbox: dict[str, Any], mail: EmailMessage, sender: str, key: str) -> dict[str, Any]:
        now = _iso(datetime.datetime.now(datetime.UTC))
        recipient = extra(inbox, "from_address")
        ses_id = uuid.uuid4().hex
        common = {"returnPath": sender, "from": [str(mail["From"])], "date": str(mail["Date"]), "to": [str(mail["To"])],
                  "messageId": str(mail["Message-ID"]), "subject": str(mail["Subject"])}
        verdict = {"status": "PASS"}
        return {
            "notificationType": "Received",
            "mail": {"timestamp": now, "source": sender, "messageId": ses_id, "destination": [recipient],
                     "headersTruncated": False, "commonHeaders": common},
            "receipt": {"timestamp": now, "processingTimeMillis": 12, "recipients": [recipient],
                        "spamVerdict": verdict, "virusVerdict": verdict, "spfVerdict": verdict,
                        "dkimVerdict": verdict, "dmarcVerdict": verdict,
                        "action": {"type": "S3", "topicArn": self._topic(inbox), "bucketName": self.bucket,
                                   "objectKeyPrefix": "inbound/", "objectKey": key}},
        }

    def _envelope(self, inbox: dict[str, Any], notification: dict[str, Any]) -> dict[str, Any]:
        topic = self._topic(inbox)
        message_id = str(uuid.uuid4())
        envelope = {
            "Type": "Notification", "MessageId": message_id, "TopicArn": topic, "Subject": _RECEIPT_SUBJECT,
            "Message": json.dumps(notification), "Timestamp": _iso(datetime.datetime.now(datetime.UTC)),
            "UnsubscribeURL": (f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn="
                               f"{topic}:{uuid.uuid5(uuid.NAMESPACE_URL, topic)}"),
        }
        return self.signer.sign(envelope)
