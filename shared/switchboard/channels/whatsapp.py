"""WhatsApp Cloud API adapter: normalizes ``messages`` webhooks (messages, statuses) and Business-app echoes into domain
events, and sends replies through ``POST /{phone-number-id}/messages``."""

from __future__ import annotations

import hashlib
import hmac
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ..domain.errors import BadRequest, DeliveryFailed
from ..domain.inbound import (
    ButtonPressed,
    DeliveryReceipt,
    InboundEvent,
    InboundMessage,
    Profile,
    ReactionChanged,
)
from ..domain.message import Attachment, AttachmentKind
from . import http, media, meta
from .base import (
    Capabilities,
    Credentials,
    OutboundAttachment,
    OutboundMessage,
    SendResult,
    WebhookRequest,
    WebhookResponse,
)
from .meta import Rule

OBJECT = "whatsapp_business_account"
MAX_TEXT = 4096
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
PLATFORM = "WhatsApp"
# Where the media URL Graph hands out may point: lookaside.fbsbx.com today, Meta's CDNs as they move files around.
MEDIA_HOSTS = ("lookaside.fbsbx.com", "fbsbx.com", "fbcdn.net", "whatsapp.net")
_MEDIA_ID = re.compile(r"[0-9A-Za-z_-]{1,128}")  # numeric in practice; nothing that could change the request path

# A business-scoped user id: a two-letter country code, a dot, then up to 128 alphanumerics (parents add ".ENT").
_BSUID = re.compile(r"[A-Z]{2}\.[A-Za-z0-9.]{1,140}")
_DELIVERY_STATUSES = frozenset({"sent", "delivered", "read", "failed"})  # "deleted" and others say nothing new
_CAPTIONED = frozenset({"image", "video", "document"})  # WhatsApp refuses captions on audio and stickers
_OUTBOUND_KINDS = {"image": "image", "video": "video", "audio": "audio", "voice": "audio", "file": "document"}

RULES: dict[tuple[int, int | None], Rule] = {
    (131047, None): Rule("More than 24 hours have passed since the customer last wrote; WhatsApp only allows a "
                         "template message now."),
    (131026, None): Rule("WhatsApp could not deliver to this customer: the number may not be on WhatsApp, may run an "
                         "old app version, or has not accepted WhatsApp's latest terms.", unreachable=True),
    (130429, None): Rule("WhatsApp's throughput limit for this number was reached; the message will be retried.",
                         transient=True),
    (131056, None): Rule("Too many messages were sent to this customer in a short time (WhatsApp pair rate limit); "
                         "the message will be retried.", transient=True),
    (131016, None): Rule("WhatsApp is temporarily unavailable ({details}); the message will be retried.",
                         transient=True),
    (131062, None): Rule("WhatsApp cannot send this kind of message to a customer known only by their "
                         "business-scoped user id; it needs their phone number."),
    (131051, None): Rule("WhatsApp does not support this message type: {details}"),
    (131052, None): Rule("WhatsApp could not download the customer's media: {details}"),
    (131053, None): Rule("WhatsApp could not fetch the attachment from its link: {details}"),
    (133010, None): Rule("This business number is not registered with the WhatsApp Cloud API."),
    (368, None): Rule("This WhatsApp number is temporarily blocked for policy violations."),
    (190, None): Rule("The WhatsApp access token has expired or was revoked; reconnect the number in the inbox "
                      "settings."),
}


# --- identity --------------------------------------------------------------------------------------------------


def _digits(phone: Any) -> str | None:
    """A WhatsApp id is the phone number's digits; echoes and API inputs may carry a leading '+'."""
    return str(phone).lstrip("+") if phone else None


@dataclass(frozen=True)
class Sender:
    source_id: str
    profile: Profile = Profile()
    meta: dict = field(default_factory=dict)


def _contacts(value: dict) -> dict[str, dict]:
    """contacts[] indexed by both identifiers, since a message may carry either or both."""
    index: dict[str, dict] = {}
    for contact in meta.objects(value.get("contacts")):
        for key in ("user_id", "wa_id"):
            if contact.get(key):
                index[str(contact[key])] = contact
    return index


def _sender(user_id: Any, wa_id: Any, contact: dict, where: str) -> Sender:
    # The BSUID survives the customer hiding their number behind a username, so it keys the conversation.
    wa_id = _digits(wa_id or contact.get("wa_id"))
    user_id = user_id or contact.get("user_id")
    source = str(user_id or wa_id or "")
    if not source:
        raise BadRequest(f"The webhook is malformed: '{where}' names no customer (no user id or phone).")
    profile = contact.get("profile") if isinstance(contact.get("profile"), dict) else {}
    return Sender(
        source_id=source,
        profile=Profile(name=profile.get("name"), username=profile.get("username"),
                        phone=f"+{wa_id}" if wa_id else None),
        meta=meta.pick({"wa_id": wa_id, "user_id": user_id, "parent_user_id": contact.get("parent_user_id")},
                       "wa_id", "user_id", "parent_user_id"),
    )


# --- message content -------------------------------------------------------------------------------------------


@dataclass
class Content:
    text: str = ""
    attachments: tuple[Attachment, ...] = ()
    meta: dict = field(default_factory=dict)
    button: str | None = None  # a reply-button or template-button id, checked for the CSAT shape


def _media(kind: AttachmentKind) -> Callable[[dict], Content]:
    def extract(media: dict) -> Content:
        attachment = Attachment(kind=kind, ref=media.get("id"), name=media.get("filename"),
                                mime=media.get("mime_type"), meta=meta.pick(media, "sha256", "animated"))
        return Content(text=media.get("caption") or "", attachments=(attachment,))

    return extract


def _audio(audio: dict) -> Content:
    # Voice notes recorded in the app arrive as audio with voice: true.
    return _media(AttachmentKind.VOICE if audio.get("voice") else AttachmentKind.AUDIO)(audio)


def _location(location: dict) -> Content:
    attachment = Attachment(kind=AttachmentKind.LOCATION, name=location.get("name"),
                            meta=meta.pick(location, "latitude", "longitude", "name", "address", "url"))
    return Content(attachments=(attachment,))


def _contact_card(card: dict) -> Attachment:
    name = card.get("name") if isinstance(card.get("name"), dict) else {}
    phones = meta.objects(card.get("phones"))
    emails = meta.objects(card.get("emails"))
    org = card.get("org") if isinstance(card.get("org"), dict) else {}
    details = {
        "phone_number": phones[0].get("phone") if phones else None,
        "phones": [p["phone"] for p in phones if p.get("phone")],
        "wa_ids": [p["wa_id"] for p in phones if p.get("wa_id")],
        "emails": [e["email"] for e in emails if e.get("email")],
        "first_name": name.get("first_name"),
        "last_name": name.get("last_name"),
        "company": org.get("company"),
    }
    return Attachment(kind=AttachmentKind.CONTACT, name=name.get("formatted_name"), meta=meta.pick(details, *details))


def _shared_contacts(cards: list) -> Content:
    return Content(attachments=tuple(_contact_card(card) for card in meta.objects(cards)))


def _reply(kind: str) -> Callable[[dict], Content]:
    def extract(reply: dict) -> Content:
        reply_id = str(reply.get("id") or "")
        extra = meta.pick(reply, "description")
        return Content(text=reply.get("title") or "", button=reply_id,
                       meta={"button_id": reply_id, "button_kind": kind, **extra})

    return extract


def _flow_reply(reply: dict) -> Content:
    return Content(text=reply.get("body") or "", meta={"flow_response": reply.get("response_json")})


_INTERACTIVE: dict[str, Callable[[dict], Content]] = {
    "button_reply": _reply("reply_button"),
    "list_reply": _reply("list_reply"),
    "nfm_reply": _flow_reply,
}


def _interactive(interactive: dict) -> Content:
    kind = str(interactive.get("type") or "unknown")
    extract = _INTERACTIVE.get(kind)
    if extract is None or not isinstance(interactive.get(kind), dict):
        return _placeholder(f"interactive.{kind}")
    return extract(interactive[kind])


def _template_button(button: dict) -> Content:
    payload = str(button.get("payload") or "")
    return Content(text=button.get("text") or "", button=payload,
                   meta={"button_id": payload, "button_kind": "template_button"})


def _order(order: dict) -> Content:
    items = meta.objects(order.get("product_items"))
    return Content(text=order.get("text") or f"Order of {len(items)} item(s)",
                   meta={"order": meta.pick(order, "catalog_id", "product_items")})


def _system(system: dict) -> Content:
    # A number change: worth showing, but it is WhatsApp speaking, not the customer.
    return Content(text=system.get("body") or "", meta={"system": system.get("type") or "unknown"})


def _placeholder(kind: str, errors: list | None = None) -> Content:
    """Show the operator that something arrived rather than dropping it silently."""
    details = [meta.pick(error, "code", "title", "message") for error in meta.objects(errors)]
    extra = {"errors": details} if details else {}
    return Content(text=f"unsupported message type: {kind}", meta={"unsupported": kind, **extra})


_CONTENT: dict[str, Callable[[Any], Content]] = {
    "text": lambda text: Content(text=text.get("body") or ""),
    "image": _media(AttachmentKind.IMAGE),
    "video": _media(AttachmentKind.VIDEO),
    "audio": _audio,
    "document": _media(AttachmentKind.FILE),
    "sticker": _media(AttachmentKind.STICKER),
    "location": _location,
    "contacts": _shared_contacts,
    "interactive": _interactive,
    "button": _template_button,
    "order": _order,
    "system": _system,
}


def _content(message: dict) -> Content:
    kind = str(message.get("type") or "unknown")
    body = message.get(kind)
    extract = _CONTENT.get(kind)
    if message.get("errors") or extract is None or not isinstance(body, dict | list):
        # ``unsupported`` messages name what the customer really sent (an edit, a poll…) in unsupported.type.
        inner = message.get("unsupported") if isinstance(message.get("unsupported"), dict) else {}
        return _placeholder(str(inner.get("type") or kind), message.get("errors"))
    return extract(body)


def _context(message: dict) -> tuple[str | None, str | None, dict]:
    """(reply-to id, forwarded marker, extra meta) from the message's context and referral."""
    context = message.get("context") if isinstance(message.get("context"), dict) else {}
    forwarded = "forwarded" if context.get("forwarded") or context.get("frequently_forwarded") else None
    extra = meta.pick(context, "frequently_forwarded", "referred_product")
    if isinstance(message.get("referral"), dict):
        extra["referral"] = message["referral"]  # click-to-WhatsApp ad: which ad the customer came from
    return (str(context["id"]) if context.get("id") else None), forwarded, extra


# --- events ----------------------------------------------------------------------------------------------------


def _reaction(message: dict, sender: Sender, at: str) -> list[InboundEvent]:
    reaction = message.get("reaction") if isinstance(message.get("reaction"), dict) else {}
    if not reaction.get("message_id"):
        raise BadRequest("The webhook is malformed: a reaction names no message_id.")
    return [ReactionChanged(source_id=sender.source_id, external_id=str(reaction["message_id"]),
                            emoji=reaction.get("emoji") or None, at=at, event_id=str(message["id"]))]


def _inbound(message: dict, sender: Sender, at: str, *, echo: bool = False) -> list[InboundEvent]:
    content = _content(message)
    reply_to, forwarded, extra = _context(message)
    events: list[InboundEvent] = [
        InboundMessage(
            source_id=sender.source_id, external_id=str(message["id"]), sent_at=at, profile=sender.profile,
            text=content.text, attachments=content.attachments, reply_to_external_id=reply_to,
            forwarded_from=forwarded, echo=echo, meta={**sender.meta, **extra, **content.meta},
        )
    ]
    if content.button and meta.is_csat(content.button) and not echo:
        # The tap is also a rating; the wamid makes the rating idempotent across webhook retries.
        events.append(ButtonPressed(source_id=sender.source_id, event_id=str(message["id"]), data=content.button,
                                    at=at, on_external_id=reply_to, profile=sender.profile))
    return events


def _message(message: dict, contacts: dict[str, dict], received_at: str) -> list[InboundEvent]:
    meta.required_id(message, "id", "message")
    contact = contacts.get(str(message.get("from_user_id"))) or contacts.get(str(message.get("from"))) or {}
    sender = _sender(message.get("from_user_id"), message.get("from"), contact, "message")
    at = meta.from_seconds(message.get("timestamp"), received_at)
    if message.get("type") == "reaction":
        return _reaction(message, sender, at)
    if message.get("type") == "request_welcome":
        return []  # the customer opened the chat for the first time; nothing was written yet
    return _inbound(message, sender, at)


def _failure_reason(status: dict) -> str | None:
    errors = meta.objects(status.get("errors"))
    if not errors:
        return None
    error = errors[0]
    data = error.get("error_data") if isinstance(error.get("error_data"), dict) else {}
    details = str(data.get("details") or error.get("message") or error.get("title") or "unknown error")
    code = error.get("code") if isinstance(error.get("code"), int) else None
    return meta.reason(PLATFORM, code, None, details, RULES)


def _status(status: dict, received_at: str) -> list[InboundEvent]:
    # Only the fact is reported; the store keeps statuses from moving backwards when they arrive out of order.
    if status.get("status") not in _DELIVERY_STATUSES:
        return []
    recipient = status.get("recipient_user_id") or _digits(status.get("recipient_id"))
    return [
        DeliveryReceipt(
            external_id=meta.required_id(status, "id", "status"), status=status["status"],
            at=meta.from_seconds(status.get("timestamp"), received_at),
            source_id=str(recipient) if recipient else None,
            reason=_failure_reason(status) if status["status"] == "failed" else None,
        )
    ]


def _messages_change(value: dict, received_at: str) -> list[InboundEvent]:
    contacts = _contacts(value)
    events: list[InboundEvent] = []
    for message in meta.objects(value.get("messages")):
        events += _message(message, contacts, received_at)
    for status in meta.objects(value.get("statuses")):
        events += _status(status, received_at)
    return events  # value.errors (app- or account-level problems) concern no conversation


def _echo(message: dict, received_at: str) -> list[InboundEvent]:
    """A message the business sent from the WhatsApp Business app (coexistence): the customer is ``to``."""
    meta.required_id(message, "id", "message_echo")
    if message.get("type") == "reaction":
        return []  # reactions from the app have nowhere to go: ReactionChanged is for the customer's
    sender = _sender(message.get("to_user_id"), message.get("to"), {}, "message_echo")
    return _inbound(message, sender, meta.from_seconds(message.get("timestamp"), received_at), echo=True)


def _echoes_change(value: dict, received_at: str) -> list[InboundEvent]:
    return [event for message in meta.objects(value.get("message_echoes")) for event in _echo(message, received_at)]


_FIELDS: dict[str, Callable[[dict, str], list[InboundEvent]]] = {
    "messages": _messages_change,
    "smb_message_echoes": _echoes_change,
}


def _for_this_number(value: dict, phone_number_id: str | None) -> bool:
    # One WhatsApp Business Account (and one app) may serve several numbers, each its own inbox.
    metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
    return not phone_number_id or str(metadata.get("phone_number_id")) == phone_number_id


# --- sending ---------------------------------------------------------------------------------------------------


def _recipient(source_id: str) -> dict:
    # Meta takes phone numbers in ``to`` and business-scoped user ids in ``recipient``.
    return {"recipient": source_id} if _BSUID.fullmatch(source_id) else {"to": source_id}


def _envelope(message: OutboundMessage, kind: str, body: dict) -> dict:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", **_recipient(message.source_id),
            "type": kind, kind: body}


def _title(label: str) -> str:
    return label if len(label) <= MAX_BUTTON_TITLE else label[: MAX_BUTTON_TITLE - 1] + "…"


def _buttons(message: OutboundMessage) -> dict:
    buttons = [{"type": "reply", "reply": {"id": data, "title": _title(label)}}
               for label, data in message.buttons[:MAX_BUTTONS]]
    body = {"type": "button", "body": {"text": message.text}, "action": {"buttons": buttons}}
    return _envelope(message, "interactive", body)


def _attachment(message: OutboundMessage, attachment: OutboundAttachment, caption: str) -> dict:
    kind = _OUTBOUND_KINDS.get(attachment.kind, "document")
    media: dict[str, Any] = {"link": attachment.url}
    if caption and kind in _CAPTIONED:
        media["caption"] = caption
    if kind == "document" and attachment.name:
        media["filename"] = attachment.name
    return _envelope(message, kind, media)


def _media_plan(message: OutboundMessage) -> list[dict]:
    """Each attachment is its own message; the text rides as the first caption when WhatsApp allows one there."""
    first_kind = _OUTBOUND_KINDS.get(message.attachments[0].kind, "document")
    captioned = bool(message.text) and first_kind in _CAPTIONED and not message.buttons
    media = [_attachment(message, attachment, message.text if captioned and index == 0 else "")
             for index, attachment in enumerate(message.attachments)]
    if message.buttons:
        return [*media, _buttons(message)]  # the question comes after what it asks about
    if message.text and not captioned:
        return [_envelope(message, "text", _text_body(message.text)), *media]
    return media


def _text_body(text: str) -> dict:
    return {"preview_url": False, "body": text}


def _plan(message: OutboundMessage) -> list[dict]:
    if message.attachments:
        payloads = _media_plan(message)
    elif message.buttons:
        payloads = [_buttons(message)]
    else:
        payloads = [_envelope(message, "text", _text_body(message.text))]
    if message.reply_to_external_id:
        payloads[0]["context"] = {"message_id": message.reply_to_external_id}
    return payloads


def _sent_id(answer: dict) -> str | None:
    sent = meta.objects(answer.get("messages"))
    return str(sent[0]["id"]) if sent and sent[0].get("id") else None


# --- downloading customers' media ------------------------------------------------------------------------------


def _media_refusal(answer: http.HttpAnswer) -> Exception:
    """Why Graph gave no media URL: a transient ``DeliveryFailed`` when asking again can help, else ``MediaRefused``."""
    error = meta.GraphError.read(answer)
    shared = meta.rule_for(error.code, error.subcode, {})
    if answer.status >= 500 or answer.status == 429 or error.is_transient or (shared and shared.transient):
        return DeliveryFailed(f"WhatsApp could not look up the media right now ({error.details}); will retry.",
                              transient=True, retry_after=meta.retry_after(answer.headers))
    if error.code == 190:
        return media.MediaRefused("The WhatsApp access token has expired or was revoked, so the customer's media "
                                  "was not downloaded; reconnect the number in the inbox settings.")
    return media.MediaRefused(f"WhatsApp would not hand over the media ({error.details}); it may have expired.")


def _media_info(media_id: str, credentials: Credentials, api_base: str) -> dict:
    """``GET /{media-id}``: the short-lived download URL, with mime_type, file_size and sha256."""
    if not _MEDIA_ID.fullmatch(media_id):
        raise media.MediaRefused("The WhatsApp media id is malformed, so the file cannot be fetched.")
    if not credentials.token:
        raise media.MediaRefused("This WhatsApp inbox has no access token configured, so the file cannot be fetched.")
    phone_number_id = credentials.extra.get("phone_number_id")
    query = f"?{urllib.parse.urlencode({'phone_number_id': phone_number_id})}" if phone_number_id else ""
    answer = http.call("GET", f"{api_base.rstrip('/')}/{media_id}{query}", platform=PLATFORM,
                       headers={"Authorization": f"Bearer {credentials.token}"}, timeout=meta.TIMEOUT_SECONDS)
    body = answer.json()
    if 200 <= answer.status < 300 and isinstance(body.get("url"), str) and body["url"]:
        return body
    raise _media_refusal(answer)


def _declared_size(info: dict) -> int | None:
    size = info.get("file_size")  # a number, or a number in a string
    if isinstance(size, str) and size.isdigit():
        return int(size)
    return size if isinstance(size, int) and not isinstance(size, bool) else None


def _check_declared_size(info: dict, max_bytes: int) -> None:
    size = _declared_size(info)
    if size is not None and size > max_bytes:
        raise media.MediaRefused(f"The file is larger than this channel's limit ({size // 1024} KB > "
                                 f"{max_bytes // 1024} KB); not stored.")


def _check_sha256(content: bytes, expected: object) -> None:
    if not isinstance(expected, str) or not expected:
        return
    actual = hashlib.sha256(content).hexdigest()
    if not hmac.compare_digest(actual, expected.strip().lower()):
        raise media.MediaRefused("The file WhatsApp sent does not match its SHA-256 checksum (damaged or replaced in "
                                 "transit), so it was not stored.")


class WhatsAppChannel:
    name = "whatsapp"
    # Documents may be up to 100 MB; every other media type is capped at 16 MB, which is what we advertise.
    capabilities = Capabilities(can_edit=False, can_delete=False, read_receipts=True, buttons=MAX_BUTTONS,
                                max_text_length=MAX_TEXT, reply_window_hours=24,
                                max_attachment_bytes=16 * 1024 * 1024,
                                account_per_second=80)  # Cloud API default throughput per number

    def verify(self, request: WebhookRequest, credentials: Credentials) -> None:
        meta.verify_signature(request, credentials.webhook_secret)

    def handshake(self, request: WebhookRequest, credentials: Credentials) -> WebhookResponse | None:
        return meta.handshake(request, credentials)

    def parse(self, request: WebhookRequest, credentials: Credentials | None = None) -> list[InboundEvent]:
        """Every message, echo and status of every entry and change. With credentials, changes for other phone
        numbers of the same business account are left to their own inboxes."""
        document = meta.decode(request.body)
        if document["object"] != OBJECT:
            return []
        phone_number_id = str((credentials.extra if credentials else {}).get("phone_number_id") or "") or None
        events: list[InboundEvent] = []
        for entry in meta.objects(document["entry"]):
            for change in meta.objects(entry.get("changes")):
                handle = _FIELDS.get(str(change.get("field")))
                value = change.get("value")
                if handle and isinstance(value, dict) and _for_this_number(value, phone_number_id):
                    events += handle(value, request.received_at)
        return events

    def send(self, message: OutboundMessage, credentials: Credentials, api_base: str) -> SendResult:
        """Send the reply as one message, or one per attachment; the first message's wamid identifies it.

        If a later message fails the error is raised even though earlier ones were delivered.
        """
        phone_number_id = credentials.extra.get("phone_number_id")
        if not phone_number_id:
            raise DeliveryFailed("This WhatsApp inbox has no phone_number_id configured.", transient=False)
        url = f"{api_base.rstrip('/')}/{phone_number_id}/messages"
        first_id: str | None = None
        for payload in _plan(message):
            answer = meta.post(url, payload, credentials, PLATFORM, RULES)
            first_id = first_id or _sent_id(answer)
        return SendResult(external_id=first_id)

    def download(self, ref: str, credentials: Credentials, api_base: str, max_bytes: int) -> media.Download:
        """Fetch a customer's media by its id: Graph names a short-lived URL, fetched with the same token and
        checked against the SHA-256 Graph gave."""
        info = _media_info(ref, credentials, api_base)
        _check_declared_size(info, max_bytes)
        file = media.fetch(info["url"], platform=PLATFORM, allowed_suffixes=MEDIA_HOSTS, api_base=api_base,
                           max_bytes=max_bytes, headers={"Authorization": f"Bearer {credentials.token}"})
        _check_sha256(file.content, info.get("sha256"))
        mime_type = info.get("mime_type")
        return replace(file, mime=mime_type) if isinstance(mime_type, str) and mime_type else file
