"""Facebook Messenger adapter, and the ``messaging[]`` webhook parser and Send API client Instagram reuses.

Read receipts: Messenger reports reads (and, for old clients, deliveries) as a ``watermark`` — every message sent
before that time — rather than per message. Such a receipt is emitted as ``DeliveryReceipt`` with
``external_id="*before:<ISO time of the watermark>"``; the store applies it to this customer's outgoing messages sent
at or before that time. Instagram names the message (``read.mid``) and gets an ordinary receipt.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..domain.errors import DeliveryFailed
from ..domain.inbound import (
    WATERMARK_PREFIX,
    ButtonPressed,
    DeliveryReceipt,
    InboundEvent,
    InboundMessage,
    MessageDeleted,
    MessageEdited,
    Profile,
    ReactionChanged,
)
from ..domain.message import Attachment, AttachmentKind
from . import media, meta
from .base import (
    Capabilities,
    Credentials,
    OutboundAttachment,
    OutboundMessage,
    SendResult,
    WebhookRequest,
    WebhookResponse,
)
from .meta import Rule, Rules

MAX_QUICK_REPLIES = 13
MAX_QUICK_REPLY_TITLE = 20

# Attachments that are media files, and the shares that are only links (a post, a story, a template card…).
_MEDIA = {"image": AttachmentKind.IMAGE, "video": AttachmentKind.VIDEO, "audio": AttachmentKind.AUDIO,
          "file": AttachmentKind.FILE, "reel": AttachmentKind.VIDEO, "ig_reel": AttachmentKind.VIDEO}
_REELS = frozenset({"reel", "ig_reel"})
_LINKS = frozenset({"fallback", "share", "post", "ig_post", "story_mention", "template", "product",
                    "appointment_booking"})
_OUTBOUND_KINDS = {"image": "image", "video": "video", "audio": "audio", "voice": "audio", "file": "file"}


@dataclass(frozen=True)
class Platform:
    """What differs between Messenger and Instagram when the webhook and Send API shapes are the same."""

    name: str  # as the operator reads it in error messages
    object: str  # the webhook's top-level ``object``
    account_key: str  # credentials.extra key holding the Page / Instagram account id this inbox serves
    rules: Rules


MESSENGER_RULES: dict[tuple[int, int | None], Rule] = {
    (10, 2018278): Rule("More than 24 hours since the customer wrote; Messenger needs a message tag or a new "
                        "message from them."),
    (551, None): Rule("The customer cannot be reached on Messenger right now (they may have blocked the Page or "
                      "left Messenger).", unreachable=True),
    (100, 2018001): Rule("Messenger does not know this customer any more; their account may have been deleted.",
                         unreachable=True),
    (1200, None): Rule("Messenger had a temporary problem sending the message; it will be retried.",
                       transient=True),
    (190, None): Rule("The Page access token has expired or was revoked; reconnect the Page in the inbox settings."),
}

MESSENGER = Platform(name="Messenger", object="page", account_key="page_id", rules=MESSENGER_RULES)


# --- parsing: small readers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    platform: Platform
    app_id: str | None  # our Meta app: echoes it sent are already stored as outgoing messages
    received_at: str


def _party(event: dict, role: str) -> str:
    party = event.get(role) if isinstance(event.get(role), dict) else {}
    return meta.required_id(party, "id", f"messaging.{role}")


def _digest(*parts: Any) -> str:
    """A stable id for events Meta sends without one, so retried webhooks stay idempotent."""
    return hashlib.sha256("|".join(map(str, parts)).encode("utf-8")).hexdigest()[:24]


def _object(obj: dict, key: str) -> dict:
    return obj[key] if isinstance(obj.get(key), dict) else {}


# --- parsing: attachments --------------------------------------------------------------------------------------


def _sticker(payload: dict) -> Attachment:
    return Attachment(kind=AttachmentKind.STICKER, ref=payload.get("url"), meta=meta.pick(payload, "sticker_id"))


def _location(item: dict, payload: dict) -> Attachment:
    where = _object(payload, "coordinates")
    return Attachment(kind=AttachmentKind.LOCATION, name=item.get("title"),
                      meta=meta.pick({"latitude": where.get("lat"), "longitude": where.get("long")},
                                     "latitude", "longitude"))


def _attachment(item: dict) -> Attachment | dict:
    """A media file as an Attachment; a share (link, post, story, template) as a dict for meta."""
    kind = str(item.get("type") or "unknown")
    payload = _object(item, "payload")
    # Stickers arrive as ``sticker`` and, until Meta's transition ends, also as an ``image`` with a sticker_id.
    if kind == "sticker" or (kind == "image" and payload.get("sticker_id")):
        return _sticker(payload)
    if kind == "location":
        return _location(item, payload)
    if kind in _MEDIA:
        # A shared reel is a playable video, but it is someone's post: say so.
        extra = {"shared": kind, **meta.pick(payload, "reel_video_id")} if kind in _REELS else {}
        return Attachment(kind=_MEDIA[kind], ref=payload.get("url"), name=payload.get("title"), meta=extra)
    if kind in _LINKS:
        return {"type": kind, **meta.pick(item, "title", "url"), **meta.pick(payload, "url", "title", "id",
                                                                               "template_type")}
    return {"type": kind, "unsupported": True}


def _attachments(message: dict) -> tuple[tuple[Attachment, ...], list[dict]]:
    files: list[Attachment] = []
    shares: list[dict] = []
    stickers: set[Any] = set()
    for item in meta.objects(message.get("attachments")):
        found = _attachment(item)
        if isinstance(found, dict):
            shares.append(found)
            continue
        sticker = found.meta.get("sticker_id")
        if sticker is not None:
            if sticker in stickers:
                continue  # the same sticker, sent twice during Meta's attachment-type transition
            stickers.add(sticker)
        files.append(found)
    return tuple(files), shares


# --- parsing: content ------------------------------------------------------------------------------------------


@dataclass
class Content:
    text: str = ""
    attachments: tuple[Attachment, ...] = ()
    meta: dict = field(default_factory=dict)
    button: str | None = None


def _placeholder(kind: str) -> Content:
    """Show the operator that something arrived rather than dropping it silently."""
    return Content(text=f"unsupported message type: {kind}", meta={"unsupported": kind})


def _content(message: dict) -> Content:
    files, shares = _attachments(message)
    unsupported = [share["type"] for share in shares if share.get("unsupported")]
    links = [share for share in shares if not share.get("unsupported")]
    text = message.get("text") or ""
    if not text and links:
        # A bare share is only a link; showing it lets the operator open what the customer sent.
        text = "\n".join(str(link.get("url") or link.get("title") or link["type"]) for link in links)
    if message.get("is_unsupported") or (not text and not files):
        return _placeholder(unsupported[0] if unsupported else "unknown")
    content = Content(text=text, attachments=files, meta={"shared": links} if links else {})
    payload = _object(message, "quick_reply").get("payload")
    if payload:
        content.button = str(payload)
        content.meta.update(button_id=str(payload), button_kind="quick_reply")
    return content


def _context_meta(message: dict) -> dict:
    extra: dict = {}
    story = _object(_object(message, "reply_to"), "story")
    if story:
        extra["story_reply"] = meta.pick(story, "id", "url")  # Instagram: the customer answered one of our stories
    if isinstance(message.get("referral"), dict):
        extra["referral"] = message["referral"]
    if message.get("metadata"):
        extra["metadata"] = message["metadata"]  # set by whichever app sent an echoed message
    if message.get("app_id"):
        extra["app_id"] = str(message["app_id"])
    return extra


def _inbound(message: dict, source_id: str, at: str, echo: bool) -> list[InboundEvent]:
    mid = str(message["mid"])
    content = _content(message)
    reply_to = _object(message, "reply_to").get("mid")
    events: list[InboundEvent] = [
        InboundMessage(source_id=source_id, external_id=mid, sent_at=at, text=content.text,
                       attachments=content.attachments, reply_to_external_id=str(reply_to) if reply_to else None,
                       echo=echo, meta={**_context_meta(message), **content.meta})
    ]
    if content.button and meta.is_csat(content.button) and not echo:
        events.append(ButtonPressed(source_id=source_id, event_id=mid, data=content.button, at=at))
    return events


# --- parsing: events -------------------------------------------------------------------------------------------


def _message(event: dict, context: Context) -> list[InboundEvent]:
    message = event["message"]
    mid = meta.required_id(message, "mid", "messaging.message")
    at = meta.from_millis(event.get("timestamp"), context.received_at)
    if message.get("is_echo"):
        if context.app_id and str(message.get("app_id")) == context.app_id:
            return []  # sent by us: already stored when send() returned its mid
        return _inbound(message, _party(event, "recipient"), at, echo=True)  # the customer is the recipient
    source_id = _party(event, "sender")
    if message.get("is_deleted"):
        return [MessageDeleted(source_id=source_id, external_id=mid, at=at)]
    return _inbound(message, source_id, at, echo=False)


def _edit(event: dict, context: Context) -> list[InboundEvent]:
    edit = event["message_edit"]
    return [MessageEdited(source_id=_party(event, "sender"), external_id=meta.required_id(edit, "mid", "message_edit"),
                          edited_at=meta.from_millis(event.get("timestamp"), context.received_at),
                          text=edit.get("text") or "")]


def _reaction(event: dict, context: Context) -> list[InboundEvent]:
    reaction = event["reaction"]
    mid = meta.required_id(reaction, "mid", "reaction")
    source_id = _party(event, "sender")
    removed = reaction.get("action") == "unreact"
    emoji = None if removed else (reaction.get("emoji") or reaction.get("reaction") or None)
    return [ReactionChanged(source_id=source_id, external_id=mid, emoji=emoji,
                            at=meta.from_millis(event.get("timestamp"), context.received_at),
                            event_id=_digest(mid, source_id, event.get("timestamp"), reaction.get("action")))]


def _watermark(watermark: Any, received_at: str) -> str:
    return WATERMARK_PREFIX + meta.from_millis(watermark, received_at)


def _read(event: dict, context: Context) -> list[InboundEvent]:
    read = event["read"]
    at = meta.from_millis(event.get("timestamp"), context.received_at)
    if read.get("mid"):
        external_id = str(read["mid"])  # Instagram: one message
    elif isinstance(read.get("watermark"), int):
        external_id = _watermark(read["watermark"], context.received_at)  # Messenger: everything before
    else:
        return []
    return [DeliveryReceipt(external_id=external_id, status="read", at=at, source_id=_party(event, "sender"))]


def _delivery(event: dict, context: Context) -> list[InboundEvent]:
    delivery = event["delivery"]
    watermark = delivery.get("watermark")
    at = meta.from_millis(event.get("timestamp", watermark), context.received_at)
    mids = [str(mid) for mid in delivery.get("mids") or [] if mid]
    if not mids and isinstance(watermark, int):
        mids = [_watermark(watermark, context.received_at)]  # old clients report only the watermark
    source_id = _party(event, "sender")
    return [DeliveryReceipt(external_id=mid, status="delivered", at=at, source_id=source_id) for mid in mids]


def _postback(event: dict, context: Context) -> list[InboundEvent]:
    """A tap on a postback button or menu item: a button event, and a line in the conversation with its title."""
    postback = event["postback"]
    source_id = _party(event, "sender")
    payload = str(postback.get("payload") or "")
    at = meta.from_millis(event.get("timestamp"), context.received_at)
    event_id = str(postback.get("mid") or _digest(source_id, event.get("timestamp"), payload))
    extra = {"referral": postback["referral"]} if isinstance(postback.get("referral"), dict) else {}
    return [
        ButtonPressed(source_id=source_id, event_id=event_id, data=payload, at=at),
        InboundMessage(source_id=source_id, external_id=event_id, sent_at=at, text=postback.get("title") or payload,
                       meta={"button_id": payload, "button_kind": "postback", **extra}),
    ]


_EVENTS: dict[str, Callable[[dict, Context], list[InboundEvent]]] = {
    "message": _message,
    "message_edit": _edit,
    "reaction": _reaction,
    "read": _read,
    "delivery": _delivery,
    "postback": _postback,
}


def _event(event: dict, context: Context) -> list[InboundEvent]:
    for key, handle in _EVENTS.items():
        if isinstance(event.get(key), dict):
            return handle(event, context)
    return []  # opt-ins, referrals, handovers, account linking: nothing for the conversation


def parse_messaging(platform: Platform, request: WebhookRequest,
                    credentials: Credentials | None = None) -> list[InboundEvent]:
    """Every ``messaging[]`` event of every entry. With credentials, entries for other Pages or accounts of the same
    app are left to their own inboxes and echoes of our own sends are dropped."""
    document = meta.decode(request.body)
    if document["object"] != platform.object:
        return []
    extra = credentials.extra if credentials else {}
    account = str(extra.get(platform.account_key) or "") or None
    context = Context(platform=platform, app_id=str(extra.get("app_id") or "") or None,
                      received_at=request.received_at)
    events: list[InboundEvent] = []
    for entry in meta.objects(document["entry"]):
        if account and str(entry.get("id")) != account:
            continue
        # ``standby`` carries threads another app controls (handover protocol): not ours to answer.
        for event in meta.objects(entry.get("messaging")):
            events += _event(event, context)
    return events


# --- sending ---------------------------------------------------------------------------------------------------


def _title(label: str) -> str:
    return label if len(label) <= MAX_QUICK_REPLY_TITLE else label[: MAX_QUICK_REPLY_TITLE - 1] + "…"


def _attachment_body(attachment: OutboundAttachment) -> dict:
    kind = _OUTBOUND_KINDS.get(attachment.kind, "file")
    return {"attachment": {"type": kind, "payload": {"url": attachment.url, "is_reusable": False}}}


def _plan(message: OutboundMessage, max_buttons: int) -> list[dict]:
    """One Send API call per attachment, then the text; quick replies ride on the last so they stay visible."""
    bodies = [_attachment_body(attachment) for attachment in message.attachments]
    if message.text:
        bodies.append({"text": message.text})
    if message.buttons and bodies:
        bodies[-1]["quick_replies"] = [{"content_type": "text", "title": _title(label), "payload": data}
                                       for label, data in message.buttons[:max_buttons]]
    return [{"recipient": {"id": message.source_id}, "messaging_type": "RESPONSE", "message": body}
            for body in bodies]


def send_messaging(platform: Platform, message: OutboundMessage, credentials: Credentials, api_base: str,
                   max_buttons: int = MAX_QUICK_REPLIES) -> SendResult:
    """Send through ``POST /me/messages``; the first message's mid identifies the reply.

    If a later call fails the error is raised even though earlier ones were delivered. The Send API has no
    documented way to quote a message, so ``reply_to_external_id`` is not rendered.
    """
    payloads = _plan(message, max_buttons)
    if not payloads:
        raise DeliveryFailed(f"A {platform.name} reply needs text or an attachment.", transient=False)
    url = f"{api_base.rstrip('/')}/me/messages"
    first_id: str | None = None
    for payload in payloads:
        answer = meta.post(url, payload, credentials, platform.name, platform.rules)
        first_id = first_id or (str(answer["message_id"]) if answer.get("message_id") else None)
    return SendResult(external_id=first_id)


class MessengerChannel:
    name = "messenger"

    def profile(self, source_id: str, credentials: Credentials, api_base: str) -> Profile:
        """The customer's name, which Messenger webhooks leave out (User Profile API)."""
        data = meta.profile(source_id, "first_name,last_name", credentials, api_base)
        name = " ".join(part for part in (data.get("first_name"), data.get("last_name")) if isinstance(part, str))
        return Profile(name=name or None)
    # Quick replies allow 13 buttons (the CSAT prompt uses 3). We cannot edit or delete what the Page sent.
    capabilities = Capabilities(can_edit=False, can_delete=False, read_receipts=True, buttons=MAX_QUICK_REPLIES,
                                max_text_length=2000, reply_window_hours=24, max_attachment_bytes=25 * 1024 * 1024)

    def verify(self, request: WebhookRequest, credentials: Credentials) -> None:
        meta.verify_signature(request, credentials.webhook_secret)

    def handshake(self, request: WebhookRequest, credentials: Credentials) -> WebhookResponse | None:
        return meta.handshake(request, credentials)

    def parse(self, request: WebhookRequest, credentials: Credentials | None = None) -> list[InboundEvent]:
        return parse_messaging(MESSENGER, request, credentials)

    def send(self, message: OutboundMessage, credentials: Credentials, api_base: str) -> SendResult:
        return send_messaging(MESSENGER, message, credentials, api_base)

    def download(self, ref: str, credentials: Credentials, api_base: str, max_bytes: int) -> media.Download:
        """Fetch a customer's file from the CDN URL its webhook carried."""
        return meta.download_attachment(ref, MESSENGER.name, api_base, max_bytes)
