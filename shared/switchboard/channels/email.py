"""E-mail through Amazon SES: mail arrives as SNS notifications of an SES receipt rule (raw MIME in S3 or inline),
replies leave as raw MIME through SES, and SES's delivery, bounce and complaint events become receipts."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import mimetypes
import os
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from email import policy
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.utils import format_datetime, parseaddr
from html import escape
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from ..domain import clock
from ..domain.errors import BadRequest, DeliveryFailed, Unauthorized
from ..domain.inbound import DeliveryReceipt, InboundEvent, InboundMessage, Profile, ReachabilityChanged
from ..domain.message import Attachment, AttachmentKind
from . import http, media, mime, sns
from .base import (
    Capabilities,
    Credentials,
    OutboundAttachment,
    OutboundMessage,
    SendResult,
    WebhookRequest,
    WebhookResponse,
)

MAX_TEXT = 100_000
MAX_HTML = 100_000  # larger HTML is left out of meta (the raw mail stays in S3): a DynamoDB item holds 400 KB
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
# SES (API v2, which the default sender uses) takes raw messages up to 40 MB, measured after base64 encoding.
MAX_MESSAGE_BYTES = 40 * 1024 * 1024
MAX_REFERENCES = 20  # RFC 5322 lets a long References list be trimmed; the root and the latest ids matter
ATTACHMENT_TIMEOUT_SECONDS = 20
CLOCK_SKEW = timedelta(minutes=5)
_VERDICTS = ("spam", "virus", "spf", "dkim", "dmarc")
MESSAGE_TYPE_HEADER = "x-amz-sns-message-type"

# --- defaults that reach AWS ------------------------------------------------------------------------------------


@functools.cache
def _client(service: str) -> Any:
    # SES receiving exists in a few regions only, so SES may live in another region than the function.
    region = os.environ.get("SES_REGION") if service == "sesv2" else None
    return boto3.client(service, region_name=region or None)


def read_s3_object(bucket: str, key: str) -> bytes:
    """The raw mail an SES S3 action stored. A missing object is a bad notification, not a reason to retry."""
    try:
        return _client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "NoSuchBucket", "404"):
            raise BadRequest(f"The e-mail is not in S3 (s3://{bucket}/{key}).") from None
        raise


def send_with_ses(raw: bytes, source: str, destinations: list[str]) -> str:
    """Hand a raw MIME message to SES (SendEmail with Raw content); returns SES's MessageId."""
    answer = _client("sesv2").send_email(
        FromEmailAddress=source, Destination={"ToAddresses": destinations}, Content={"Raw": {"Data": raw}})
    return answer["MessageId"]


# --- small readers ----------------------------------------------------------------------------------------------


def _object(data: dict, key: str) -> dict:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _at(value: Any, fallback: str) -> str:
    try:
        return clock.iso(clock.parse_iso(value)) if isinstance(value, str) and value else fallback
    except ValueError:
        return fallback


def _ses_notification(envelope: dict) -> dict | None:
    """The SES notification inside an SNS Notification (``Message`` is JSON in a string); None for other types."""
    if envelope.get("Type") != "Notification":
        return None
    try:
        notification = json.loads(envelope.get("Message") or "")
    except (TypeError, ValueError):
        notification = None
    if not isinstance(notification, dict):
        raise BadRequest("The SNS Message is not an SES notification (a JSON object was expected).")
    return notification


def _kind(mime_type: str) -> AttachmentKind:
    major = mime_type.split("/", 1)[0]
    return {"image": AttachmentKind.IMAGE, "video": AttachmentKind.VIDEO,
            "audio": AttachmentKind.AUDIO}.get(major, AttachmentKind.FILE)


# --- inbound mail -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    raw: bytes
    origin: str  # s3://bucket/key, or "inline" when the SNS action carried the mail itself


def _inline_content(content: str, encoding: Any) -> bytes:
    if str(encoding or "").upper() != "BASE64":
        return content.encode("utf-8")  # SES's UTF8 encoding: already text, 8-bit bytes may have been mangled
    try:
        return base64.b64decode(content, validate=False)
    except (binascii.Error, ValueError):
        raise BadRequest("The SES notification's content is not valid base64.") from None


@dataclass(frozen=True)
class _Sender:
    address: str
    name: str | None


def _first_address(message: Message, name: str) -> Address | None:
    found = mime.addresses(message, name)
    return found[0] if found else None


def _sender(message: Message, mail: dict) -> _Sender:
    """Who answers reach: Reply-To when present, else From, else the SMTP envelope sender."""
    reply_to = _first_address(message, "Reply-To")
    author = _first_address(message, "From")
    chosen = reply_to or author
    if chosen is not None:
        name = chosen.display_name or (author.display_name if author and author.addr_spec == chosen.addr_spec else "")
        return _Sender(chosen.addr_spec.lower(), name or None)
    source = mail.get("source")
    if isinstance(source, str) and "@" in source:
        return _Sender(source.lower(), None)
    raise BadRequest("The e-mail names no sender address (no From, Reply-To or envelope sender).")


def _sent_at(message: Message, mail: dict, received_at: str) -> str:
    """The Date header, unless it is missing, unreadable or in the future of when SES received the mail."""
    received = clock.parse_iso(_at(mail.get("timestamp"), received_at))
    written = mime.date_of(message)
    if written is None or written > received + CLOCK_SKEW:
        return clock.iso(received)
    return clock.iso(written)


def _external_id(message: Message, mail: dict) -> str:
    own = mime.header_ids(message, "Message-ID")
    if own:
        return own[0]
    if isinstance(mail.get("messageId"), str) and mail["messageId"]:
        return mail["messageId"]
    raise BadRequest("The e-mail has no Message-ID and SES gave it no id either.")


def _part_ref(origin: str, part: mime.Part) -> str:
    return f"{origin}#part={part.index}"


def _part_name(part: mime.Part) -> str:
    return part.name or f"part-{part.index}{mimetypes.guess_extension(part.mime) or ''}"


def _is_inline_image(part: mime.Part, html: str) -> bool:
    # Only an image the HTML actually shows is "inline"; clients also tag ordinary attachments with Content-IDs.
    return part.inline and part.content_id is not None and f"cid:{part.content_id}" in html


def _attachments(body: mime.Body, origin: str) -> tuple[tuple[Attachment, ...], list[dict]]:
    attachments: list[Attachment] = []
    inline: list[dict] = []
    for part in body.parts:
        if _is_inline_image(part, body.html):
            inline.append({"content_id": part.content_id, "ref": _part_ref(origin, part), "mime": part.mime,
                           "name": _part_name(part), "size": part.size})
            continue
        attachments.append(Attachment(kind=_kind(part.mime), ref=_part_ref(origin, part), name=_part_name(part),
                                      mime=part.mime, size=part.size))
    return tuple(attachments), inline


def _verdicts(receipt: dict) -> dict:
    """SES's spam, virus and authentication checks, kept for the service to act on (the mail is stored either way)."""
    verdicts = {name: _object(receipt, f"{name}Verdict").get("status") for name in _VERDICTS}
    return {name: status for name, status in verdicts.items() if status}


def _body_meta(message: Message, body: mime.Body, full_text: str, text: str) -> dict:
    meta: dict[str, Any] = {"subject": mime.header_text(message, "Subject")}
    if full_text != text:
        meta["full_text"] = full_text[:MAX_TEXT]
    if body.html and len(body.html) <= MAX_HTML:
        meta["html"] = body.html
    elif body.html:
        meta["html_omitted"] = True
    for name in ("To", "Cc"):
        found = [address.addr_spec.lower() for address in mime.addresses(message, name)]
        if found:
            meta[name.lower()] = found
    return meta


def _envelope_meta(notification: dict, origin: str) -> dict:
    mail, receipt = _object(notification, "mail"), _object(notification, "receipt")
    meta: dict[str, Any] = {}
    if origin.startswith("s3://"):
        meta["raw_ref"] = origin
    if mail.get("messageId"):
        meta["ses_message_id"] = mail["messageId"]
    if verdicts := _verdicts(receipt):
        meta["verdicts"] = verdicts
    return meta


def own_addresses(credentials: Credentials | None) -> set[str]:
    """The inbox's own addresses: its sender address and the receiving ones listed in ``addresses``."""
    if credentials is None:
        return set()
    listed = credentials.extra.get("addresses")
    values = [credentials.extra.get("from_address"), *(listed if isinstance(listed, list) else [listed])]
    return {value.strip().lower() for value in values if isinstance(value, str) and "@" in value}


def _echo_customer(message: Message, sender: _Sender, receipt: dict, credentials: Credentials | None) -> str | None:
    """For mail one of our own addresses sent (an operator writing from a mail client with the inbox in copy):
    the customer it went to. None for ordinary customer mail."""
    ours = {str(address).lower() for address in receipt.get("recipients") or []} | own_addresses(credentials)
    if sender.address not in ours:
        return None
    for name in ("To", "Cc"):
        for address in mime.addresses(message, name):
            if address.addr_spec.lower() not in ours:
                return address.addr_spec.lower()
    return None


def _inbound(message: Message, source: _Source, notification: dict, received_at: str,
             credentials: Credentials | None) -> InboundMessage:
    mail = _object(notification, "mail")
    sender = _sender(message, mail)
    body = mime.body(message)
    full_text = body.text.strip()
    text = mime.fold_quoted(full_text)
    attachments, inline = _attachments(body, source.origin)
    meta = {**_body_meta(message, body, full_text, text), **_envelope_meta(notification, source.origin)}
    if inline:
        meta["inline_images"] = inline
    echo_to = _echo_customer(message, sender, _object(notification, "receipt"), credentials)
    reply_to = mime.header_ids(message, "In-Reply-To")
    return InboundMessage(
        source_id=echo_to or sender.address,
        external_id=_external_id(message, mail),
        sent_at=_sent_at(message, mail, received_at),
        profile=Profile() if echo_to else Profile(name=sender.name, email=sender.address),
        text=text[:MAX_TEXT],
        attachments=attachments,
        reply_to_external_id=reply_to[0] if reply_to else None,
        echo=echo_to is not None,
        thread_keys=mime.thread_keys(message),
        meta=meta,
    )


# --- bounces that reach the inbox as mail -----------------------------------------------------------------------


def _bounced_id(ids: tuple[str, ...]) -> str | None:
    """Our id for the bounced message. SES replaces the Message-ID of what it sends, so our own id travels as the
    last References entry (see ``compose``); any other Message-ID is taken as it is."""
    if not ids:
        return None
    if ids[0].lower().endswith(".amazonses.com") and len(ids) > 1:
        return ids[-1]
    return ids[0]


def _dsn_events(message: Message, mail: dict, received_at: str) -> list[InboundEvent]:
    report = mime.bounce(message)
    external_id = _bounced_id(report.original_ids)
    if external_id is None:
        return []  # nothing to attach the failure to; a bounce is never a customer's message
    at = _sent_at(message, mail, received_at)
    why = report.diagnostic or (f"delivery status {report.status}" if report.status else "no reason given")
    events: list[InboundEvent] = [DeliveryReceipt(
        external_id=external_id, status="failed", at=at, source_id=report.recipient,
        reason=f"The recipient's mail server returned the message: {why}",
    )]
    # 5.1.x: the mailbox or domain does not exist (RFC 3463), so writing again cannot help.
    if report.recipient and (report.status or "").startswith("5.1."):
        events.append(ReachabilityChanged(source_id=report.recipient, reachable=False, at=at,
                                          profile=Profile(email=report.recipient)))
    return events


# --- SES events about mail we sent ------------------------------------------------------------------------------


def _our_message_id(mail: dict) -> str | None:
    """The Message-ID we gave the mail (SES keeps the submitted headers in its events), else SES's own id."""
    common = _object(mail, "commonHeaders")
    ids = mime.message_ids(common.get("messageId") if isinstance(common.get("messageId"), str) else None)
    for item in mail.get("headers") or []:
        if not ids and isinstance(item, dict) and str(item.get("name", "")).lower() == "message-id":
            ids = mime.message_ids(str(item.get("value") or ""))
    if ids:
        return ids[0]
    return mail["messageId"] if isinstance(mail.get("messageId"), str) and mail["messageId"] else None


def _recipient_addresses(items: Any, key: str | None = "emailAddress") -> list[str]:
    """Addresses from an SES recipient list (plain strings, or objects holding ``key``), lower-cased."""
    found = []
    for item in items if isinstance(items, list) else []:
        value = item.get(key) if key and isinstance(item, dict) else item
        address = parseaddr(value)[1] if isinstance(value, str) else ""
        if "@" in address:
            found.append(address.lower())
    return found


_BOUNCE_REASONS = {
    "NoEmail": "The address does not exist.",
    "Suppressed": "SES did not send it: the address is on SES's suppression list after earlier hard bounces.",
    "OnAccountSuppressionList": "SES did not send it: the address is on this account's suppression list.",
    "MailboxFull": "The recipient's mailbox is full.",
    "MessageTooLarge": "The message was too large for the recipient's mail server.",
    "ContentRejected": "The recipient's mail server rejected the content.",
    "AttachmentRejected": "The recipient's mail server rejected an attachment.",
}


def _bounce_reason(bounce: dict, recipients: list[dict]) -> str:
    diagnostic = mime.without_type(next((str(r["diagnosticCode"]) for r in recipients if r.get("diagnosticCode")),
                                        ""))
    summary = _BOUNCE_REASONS.get(str(bounce.get("bounceSubType")), "The message bounced.")
    kind = f"{bounce.get('bounceType') or 'Undetermined'} bounce"
    return f"{summary} ({kind}: {diagnostic})" if diagnostic else f"{summary} ({kind})"


def _delivery(notification: dict, received_at: str) -> list[InboundEvent]:
    mail, delivery = _object(notification, "mail"), _object(notification, "delivery")
    external_id = _our_message_id(mail)
    if external_id is None:
        return []
    recipients = _recipient_addresses(delivery.get("recipients"), key=None)
    return [DeliveryReceipt(external_id=external_id, status="delivered", at=_at(delivery.get("timestamp"), received_at),
                            source_id=recipients[0] if recipients else None)]


def _bounce(notification: dict, received_at: str) -> list[InboundEvent]:
    mail, bounce = _object(notification, "mail"), _object(notification, "bounce")
    recipients = [r for r in bounce.get("bouncedRecipients") or [] if isinstance(r, dict)]
    addresses = _recipient_addresses(recipients)
    at = _at(bounce.get("timestamp"), received_at)
    events: list[InboundEvent] = []
    external_id = _our_message_id(mail)
    if external_id is not None:
        events.append(DeliveryReceipt(external_id=external_id, status="failed", at=at,
                                      source_id=addresses[0] if addresses else None,
                                      reason=_bounce_reason(bounce, recipients)))
    if bounce.get("bounceType") == "Permanent":
        events += [ReachabilityChanged(source_id=address, reachable=False, at=at, profile=Profile(email=address))
                   for address in addresses]
    return events


def _complaint(notification: dict, received_at: str) -> list[InboundEvent]:
    complaint = _object(notification, "complaint")
    if complaint.get("complaintFeedbackType") == "not-spam":
        return []  # the recipient took back an earlier spam report
    at = _at(complaint.get("timestamp"), received_at)
    return [ReachabilityChanged(source_id=address, reachable=False, at=at, profile=Profile(email=address))
            for address in _recipient_addresses(complaint.get("complainedRecipients"))]


def _reject(notification: dict, received_at: str) -> list[InboundEvent]:
    external_id = _our_message_id(_object(notification, "mail"))
    reason = _object(notification, "reject").get("reason") or "unknown reason"
    if external_id is None:
        return []
    return [DeliveryReceipt(external_id=external_id, status="failed", at=received_at,
                            reason=f"SES refused to send the message ({reason}).")]


# Notifications (notificationType) and event publishing (eventType) name these the same way. Send, Open, Click and
# DeliveryDelay need nothing: we already mark messages sent, and e-mail opens are not read receipts.
_SES_EVENTS: dict[str, Callable[[dict, str], list[InboundEvent]]] = {
    "Delivery": _delivery,
    "Bounce": _bounce,
    "Complaint": _complaint,
    "Reject": _reject,
}


# --- outbound mail ----------------------------------------------------------------------------------------------

_REPLY_PREFIX = re.compile(r"^(\s*(re|aw|sv|vs|antw|odp)\s*(\[\d+\]|\(\d+\))?\s*:\s*)+", re.IGNORECASE)
_URL = re.compile(r"https?://[^\s<>\"']*[^\s<>\"'.,;:!?)\]]")
_BUTTON_STYLE = ("display:inline-block;padding:8px 16px;margin:0 8px 8px 0;border:1px solid #8a8a8a;"
                 "border-radius:4px;color:#1a1a1a;text-decoration:none")


@dataclass(frozen=True)
class OutgoingFile:
    name: str
    mime: str
    data: bytes


def _from_address(credentials: Credentials) -> Address:
    address = credentials.extra.get("from_address")
    if not isinstance(address, str) or "@" not in address:
        raise DeliveryFailed("This e-mail inbox has no sender address configured (from_address).", transient=False)
    try:
        return Address(display_name=str(credentials.extra.get("from_name") or ""), addr_spec=address.strip())
    except (ValueError, IndexError, HeaderParseError):
        raise DeliveryFailed(f"The inbox's sender address {address!r} is not a valid e-mail address.",
                             transient=False) from None


def _to_address(source_id: str) -> Address:
    try:
        address = Address(addr_spec=source_id.strip())
    except (ValueError, IndexError, HeaderParseError):
        address = None
    if address is None or not address.domain or not address.username:
        raise DeliveryFailed(f"{source_id!r} is not an e-mail address this message could be sent to.",
                             transient=False)
    return address


def _clean_ids(ids: tuple[str, ...] | list[str]) -> list[str]:
    cleaned = [value.strip().strip("<>").strip() for value in ids if isinstance(value, str)]
    return list(dict.fromkeys(value for value in cleaned if value and " " not in value and "@" in value))


def _thread(message: OutboundMessage) -> list[str]:
    """The ids this reply answers, oldest first; a bare reply_to id serves when the service sent no thread."""
    keys = _clean_ids(message.thread_keys)
    if not keys and message.reply_to_external_id:
        keys = _clean_ids([message.reply_to_external_id])
    return keys


def own_message_id(message: OutboundMessage, sender: Address) -> str:
    """Deterministic, so a retried send carries the same Message-ID and the recipient's client sees one message."""
    local = re.sub(r"[^A-Za-z0-9._-]", "", message.message_id) or hashlib.sha256(
        message.message_id.encode()).hexdigest()[:32]
    return f"{local}@{sender.domain}"


def _subject(message: OutboundMessage, replying: bool, credentials: Credentials) -> str:
    subject = " ".join((message.subject or "").split())
    if not subject:
        return str(credentials.extra.get("default_subject") or "Your support request")
    if not replying:
        return subject
    return f"Re: {_REPLY_PREFIX.sub('', subject)}"


def csat_token(credentials: Credentials, message_id: str, data: str) -> str:
    """What a CSAT link carries to prove this inbox sent it; the landing page recomputes it to check a click."""
    key = credentials.webhook_secret.encode("utf-8")
    return hmac.new(key, f"{message_id}:{data}".encode(), hashlib.sha256).hexdigest()[:32]


def _button_links(message: OutboundMessage, credentials: Credentials) -> list[tuple[str, str | None]]:
    """(label, URL) per button; URLs are None when the inbox has no working csat_url template."""
    template = credentials.extra.get("csat_url")
    links: list[tuple[str, str | None]] = []
    for label, data in message.buttons:
        url = None
        if isinstance(template, str) and template:
            try:
                url = template.format(data=urllib.parse.quote(data, safe=""),
                                      message_id=urllib.parse.quote(message.message_id, safe=""),
                                      token=csat_token(credentials, message.message_id, data))
            except (KeyError, IndexError, ValueError):
                url = None  # a broken template must not block the answer; the choices are still shown
        links.append((label, url))
    if any(url is None for _label, url in links):
        return [(label, None) for label, _url in links]
    return links


def _plain(text: str, links: list[tuple[str, str | None]]) -> str:
    lines = [text.rstrip()]
    if links:
        lines.append("")
        lines += [f"{label}: {url}" if url else f"{number}. {label}" for number, (label, url) in enumerate(links, 1)]
    return "\n".join(lines).strip("\n") + "\n"


def _linkify(line: str) -> str:
    out, position = [], 0
    for match in _URL.finditer(line):
        url = match.group(0)
        out += [escape(line[position:match.start()]), f'<a href="{escape(url)}">{escape(url)}</a>']
        position = match.end()
    out.append(escape(line[position:]))
    return "".join(out)


def _paragraph(block: str) -> str:
    return "<p>" + "<br>\n".join(_linkify(line) for line in block.split("\n")) + "</p>"


def _html(text: str, links: list[tuple[str, str | None]]) -> str:
    blocks = [block.strip("\n") for block in re.split(r"\n[ \t]*\n", text.strip()) if block.strip()]
    parts = [_paragraph(block) for block in blocks]
    if links and links[0][1]:
        anchors = "".join(f'<a href="{escape(url or "")}" style="{_BUTTON_STYLE}">{escape(label)}</a>'
                          for label, url in links)
        parts.append(f"<p>{anchors}</p>")
    elif links:
        parts.append("<ol>" + "".join(f"<li>{escape(label)}</li>" for label, _url in links) + "</ol>")
    content = "\n".join(parts)
    return (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>\n'
            f'<body style="font-family:sans-serif;font-size:14px;line-height:1.5">\n{content}\n</body></html>\n')


def _references(thread: list[str], own_id: str) -> list[str]:
    # Our own id goes last: SES overwrites Message-ID, and References is what a reply copies back to us.
    kept = thread if len(thread) < MAX_REFERENCES else [thread[0], *thread[-(MAX_REFERENCES - 2):]]
    return [*kept, own_id]


def _headers(mail: EmailMessage, message: OutboundMessage, credentials: Credentials, own_id: str) -> None:
    sender = _from_address(credentials)
    thread = _thread(message)
    mail["From"] = sender
    mail["To"] = _to_address(message.source_id)
    mail["Subject"] = _subject(message, bool(thread), credentials)
    mail["Date"] = format_datetime(clock.now())
    mail["Message-ID"] = f"<{own_id}>"
    if thread:
        mail["In-Reply-To"] = f"<{thread[-1]}>"
    mail["References"] = " ".join(f"<{key}>" for key in _references(thread, own_id))
    if credentials.extra.get("configuration_set"):
        # How a raw send picks its configuration set (and with it the event destination for delivery events).
        mail["X-SES-CONFIGURATION-SET"] = str(credentials.extra["configuration_set"])


def _attach(mail: EmailMessage, file: OutgoingFile) -> None:
    maintype, _, subtype = file.mime.partition("/")
    if maintype in ("multipart", "message") or not subtype:
        maintype, subtype = "application", "octet-stream"  # stored bytes, whatever they claimed to be
    mail.add_attachment(file.data, maintype=maintype, subtype=subtype, filename=file.name)


def compose(message: OutboundMessage, credentials: Credentials,
            files: list[OutgoingFile] | tuple[OutgoingFile, ...] = ()) -> EmailMessage:
    """The reply as a MIME message: text and HTML alternatives, buttons as links, files attached."""
    own_id = own_message_id(message, _from_address(credentials))
    mail = EmailMessage(policy=policy.default)
    _headers(mail, message, credentials, own_id)
    links = _button_links(message, credentials)
    mail.set_content(_plain(message.text, links), cte="quoted-printable")
    mail.add_alternative(_html(message.text, links), subtype="html", cte="quoted-printable")
    for file in files:
        _attach(mail, file)
    return mail


def _file_name(attachment: OutboundAttachment) -> str:
    if attachment.name:
        return attachment.name
    path = urllib.parse.urlsplit(attachment.url).path
    return urllib.parse.unquote(path.rsplit("/", 1)[-1]) or "attachment"


def _download(attachment: OutboundAttachment) -> OutgoingFile:
    """Fetch one pre-signed attachment URL; the URL never appears in an error (it is a credential)."""
    name = _file_name(attachment)
    too_big = DeliveryFailed(f"The attachment {name!r} is larger than e-mail allows here "
                             f"({MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB).", transient=False)
    if attachment.size and attachment.size > MAX_ATTACHMENT_BYTES:
        raise too_big
    answer = http.call("GET", attachment.url, platform="Attachment storage", timeout=ATTACHMENT_TIMEOUT_SECONDS)
    if answer.status >= 500:
        raise DeliveryFailed(f"The attachment {name!r} could not be fetched (HTTP {answer.status}); will retry.",
                             transient=True)
    if answer.status != 200:
        raise DeliveryFailed(f"The attachment {name!r} could not be fetched (HTTP {answer.status}); its link may "
                             "have expired.", transient=False)
    if len(answer.body) > MAX_ATTACHMENT_BYTES:
        raise too_big
    served = {key.lower(): value for key, value in answer.headers.items()}.get("content-type", "")
    mime_type = attachment.mime or served.split(";")[0].strip() or mimetypes.guess_type(name)[0]
    return OutgoingFile(name=name, mime=mime_type or "application/octet-stream", data=answer.body)


# --- SES errors -------------------------------------------------------------------------------------------------

_PERMANENT_SES = {
    "MailFromDomainNotVerified": "SES cannot find the MX record of the custom MAIL FROM domain; check its DNS.",
    "AccountSendingPaused": "SES sending is paused for this account.",
    "SendingPaused": "SES sending is paused for this account.",
    "AccountSuspended": "SES has suspended sending for this account.",
    "ConfigurationSetSendingPaused": "SES sending is paused for this inbox's configuration set.",
    "ConfigurationSetDoesNotExist": "The inbox's SES configuration set does not exist.",
    "NotFound": "SES does not know a resource this inbox uses (sender identity or configuration set).",
}
_TRANSIENT_SES = frozenset({"Throttling", "TooManyRequests", "LimitExceeded", "ServiceUnavailable", "InternalFailure",
                            "InternalError", "InternalServer", "RequestTimeout"})


def _ses_failure(error: ClientError) -> DeliveryFailed:
    """Map an SES (v1 or v2) error code to what the operator sees and whether a retry can help."""
    details = error.response.get("Error", {})
    code = str(details.get("Code") or "").removesuffix("Exception")
    text = str(details.get("Message") or code or "unknown error")
    if code == "MessageRejected":
        hint = " (in the SES sandbox every recipient must be verified too)" if "not verified" in text.lower() else ""
        return DeliveryFailed(f"SES rejected the message: {text}{hint}", transient=False)
    if code in _PERMANENT_SES:
        return DeliveryFailed(_PERMANENT_SES[code], transient=False)
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    if code in _TRANSIENT_SES or status >= 500:
        retry_after = 3600.0 if "daily" in text.lower() else None  # the quota resets over a rolling 24 hours
        return DeliveryFailed(f"SES could not take the message right now ({text}); will retry.", transient=True,
                              retry_after=retry_after)
    return DeliveryFailed(f"SES refused the message: {text}", transient=False)


# --- customers' attachments --------------------------------------------------------------------------------------


def _stored_part(ref: str) -> tuple[str, str, int]:
    """(bucket, key, part index) of an ``s3://bucket/key#part=N`` ref, as ``_part_ref`` wrote it."""
    origin, marker, number = ref.rpartition("#part=")
    if not marker or not number.isdigit():
        raise media.MediaRefused("The reference does not name a part of a stored e-mail, so nothing was read.")
    if origin == "inline":
        raise media.MediaRefused("This e-mail attachment was delivered inline in the notification and is not kept, "
                                 "so it cannot be downloaded.")
    bucket, _, key = origin.removeprefix("s3://").partition("/")
    if not origin.startswith("s3://") or not bucket or not key:
        raise media.MediaRefused("The reference does not name a stored e-mail, so nothing was read.")
    return bucket, key, int(number)


def _part_content(part: Message) -> bytes:
    """A leaf's decoded bytes; an attached message is kept whole, as the .eml it was."""
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload(0)
        return inner.as_bytes() if isinstance(inner, Message) else b""
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _too_large(size: int, max_bytes: int) -> media.MediaRefused:
    return media.MediaRefused(f"The attachment is larger than this channel's limit ({size // 1024} KB > "
                              f"{max_bytes // 1024} KB); not stored.")


def _attachment_of(message: Message, index: int, max_bytes: int) -> media.Download:
    """Part ``index`` of a parsed mail, named as ``parse`` named it; only attachments and inline images qualify."""
    part = next((found for found in mime.body(message).parts if found.index == index), None)
    if part is None:
        raise media.MediaRefused(f"The stored e-mail has no attachment at part {index}.")
    if part.size > max_bytes:
        raise _too_large(part.size, max_bytes)
    content = _part_content(list(message.walk())[index])
    if len(content) > max_bytes:
        raise _too_large(len(content), max_bytes)
    return media.Download(content, part.mime, _part_name(part))


# --- the adapter ------------------------------------------------------------------------------------------------


def _for_this_inbox(notification: dict, kind: Any, credentials: Credentials | None) -> bool:
    """One SNS topic may serve several inboxes, and each subscription gets everything: with credentials, keep the
    mail sent to this inbox (when it lists its ``addresses``) and the events about mail it sent."""
    if credentials is None:
        return True
    if kind == "Received":
        if not credentials.extra.get("addresses"):
            return True
        recipients = {str(address).lower() for address in _object(notification, "receipt").get("recipients") or []}
        return not recipients or bool(recipients & own_addresses(credentials))
    sender = parseaddr(str(_object(notification, "mail").get("source") or ""))[1].lower()
    own = str(credentials.extra.get("from_address") or "").strip().lower()
    return not sender or not own or sender == own


def _allowed_topics(credentials: Credentials) -> set[str]:
    configured = credentials.extra.get("topic_arn")
    values = [configured] if isinstance(configured, str) else list(configured or [])
    return {value for value in values if isinstance(value, str) and value}


class EmailChannel:
    name = "email"
    # Buttons become links (or a numbered list); SES caps the whole raw message at 40 MB, so one file stays at 10.
    capabilities = Capabilities(can_edit=False, can_delete=False, read_receipts=False, buttons=3,
                                max_text_length=MAX_TEXT, max_attachment_bytes=MAX_ATTACHMENT_BYTES)

    def __init__(
        self,
        *,
        fetch_certificate: Callable[[str], bytes] = sns.fetch_certificate,
        read_object: Callable[[str, str], bytes] = read_s3_object,
        confirm_subscription: Callable[[str], None] = sns.confirm_subscription,
        send_raw: Callable[[bytes, str, list[str]], str] = send_with_ses,
    ) -> None:
        self._fetch_certificate = fetch_certificate
        self._read_object = read_object
        self._confirm_subscription = confirm_subscription
        self._send_raw = send_raw

    def verify(self, request: WebhookRequest, credentials: Credentials) -> None:
        """SNS signs field values, not the body, so the JSON is read first; the topic is checked before any fetch.

        Anyone can point an SNS topic of their own at this URL and AWS will sign it, so the topic must be ours.
        """
        envelope = sns.decode(request.body)
        topics = _allowed_topics(credentials)
        if not topics:
            raise Unauthorized("This e-mail inbox has no SNS topic configured (topic_arn), so nothing can be trusted.")
        if not isinstance(envelope.get("TopicArn"), str) or envelope["TopicArn"] not in topics:
            raise Unauthorized("The SNS message comes from a topic this inbox is not subscribed to.")
        stated = request.headers.get(MESSAGE_TYPE_HEADER)
        if stated is not None and stated != envelope.get("Type"):
            raise Unauthorized("The x-amz-sns-message-type header disagrees with the signed message.")
        sns.verify(envelope, self._fetch_certificate)

    def handshake(self, request: WebhookRequest, credentials: Credentials) -> WebhookResponse | None:
        """Confirm (or acknowledge the end of) an SNS subscription. Verifies first: the service calls this before
        ``verify``, and visiting a forged SubscribeURL would subscribe us to a stranger's topic."""
        try:
            envelope = sns.decode(request.body)
        except BadRequest:
            return None  # verify() will say what is wrong with it
        kind = envelope.get("Type")
        if kind not in ("SubscriptionConfirmation", "UnsubscribeConfirmation"):
            return None
        self.verify(request, credentials)
        if kind == "UnsubscribeConfirmation":
            return WebhookResponse(200, json.dumps({"unsubscribed": True}))
        url = envelope.get("SubscribeURL")
        if not sns.is_sns_url(url):
            raise Unauthorized("The SubscribeURL is not on an SNS host; refusing to visit it.")
        self._confirm_subscription(url)  # type: ignore[arg-type]
        return WebhookResponse(200, json.dumps({"confirmed": True}))

    def parse(self, request: WebhookRequest, credentials: Credentials | None = None) -> list[InboundEvent]:
        notification = _ses_notification(sns.decode(request.body))
        if notification is None:
            return []  # subscription bookkeeping is the handshake's business
        kind = notification.get("notificationType") or notification.get("eventType")
        if not _for_this_inbox(notification, kind, credentials):
            return []
        if kind == "Received":
            return self._received(notification, request.received_at, credentials)
        handler = _SES_EVENTS.get(str(kind))
        return handler(notification, request.received_at) if handler else []

    def _source(self, notification: dict) -> _Source | None:
        action = _object(_object(notification, "receipt"), "action")
        if isinstance(notification.get("content"), str):
            return _Source(_inline_content(notification["content"], action.get("encoding")), "inline")
        bucket, key = action.get("bucketName"), action.get("objectKey")
        if action.get("type") == "S3" and isinstance(bucket, str) and isinstance(key, str) and bucket and key:
            return _Source(self._read_object(bucket, key), f"s3://{bucket}/{key}")
        return None

    def download(self, ref: str, credentials: Credentials, api_base: str, max_bytes: int) -> media.Download:
        """One attachment of a received mail: the raw mail is read again from S3 and the part decoded.
        ``api_base`` is unused."""
        bucket, key, index = _stored_part(ref)
        try:
            raw = self._read_object(bucket, key)
        except BadRequest:
            raise media.MediaRefused("The e-mail is no longer in S3, so its attachment cannot be read.") from None
        except (ClientError, BotoCoreError) as error:
            raise DeliveryFailed(f"The stored e-mail could not be read from S3 ({type(error).__name__}); will retry.",
                                 transient=True) from None
        return _attachment_of(mime.parse(raw), index, max_bytes)

    def _received(self, notification: dict, received_at: str, credentials: Credentials | None) -> list[InboundEvent]:
        source = self._source(notification)
        if source is None:
            return []  # a rule without an S3 or SNS action: there is no mail to read
        message = mime.parse(source.raw)
        # Bounces first: many carry Auto-Submitted too, and they still say which of our messages failed.
        if mime.is_bounce(message):
            return _dsn_events(message, _object(notification, "mail"), received_at)
        if mime.is_auto_reply(message):
            return []  # out-of-office and the like: answering them only starts a mail loop
        return [_inbound(message, source, notification, received_at, credentials)]

    def send(self, message: OutboundMessage, credentials: Credentials, api_base: str) -> SendResult:
        """Send the reply through SES. ``api_base`` is unused: SES is reached through boto3."""
        sender = _from_address(credentials)
        recipient = _to_address(message.source_id)
        files = [_download(attachment) for attachment in message.attachments]
        raw = compose(message, credentials, files).as_bytes(policy=policy.SMTP)
        if len(raw) > MAX_MESSAGE_BYTES:
            raise DeliveryFailed("The message with its attachments is larger than SES accepts (40 MB).",
                                 transient=False)
        try:
            self._send_raw(raw, sender.addr_spec, [recipient.addr_spec])
        except ClientError as error:
            raise _ses_failure(error) from None
        except BotoCoreError as error:
            raise DeliveryFailed(f"SES could not be reached ({type(error).__name__}); will retry.",
                                 transient=True) from None
        return SendResult(external_id=own_message_id(message, sender))
