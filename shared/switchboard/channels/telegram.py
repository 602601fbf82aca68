"""Telegram Bot API adapter: authenticates webhooks by their secret-token header, normalizes ``Update`` objects into
domain events and sends replies with ``sendMessage``."""

from __future__ import annotations

import hmac
import mimetypes
import posixpath
import urllib.parse
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..domain.clock import from_unix, iso
from ..domain.errors import BadRequest, DeliveryFailed, Unauthorized
from ..domain.inbound import (
    ButtonPressed,
    InboundEvent,
    InboundMessage,
    MessageEdited,
    Profile,
    ReachabilityChanged,
)
from ..domain.message import Attachment, AttachmentKind
from . import http, media
from .base import (
    Capabilities,
    Credentials,
    OutboundMessage,
    SendResult,
    WebhookRequest,
    WebhookResponse,
    json_object,
)

SECRET_HEADER = "x-telegram-bot-api-secret-token"
MAX_TEXT = 4096  # sendMessage limit, counted by Telegram in UTF-16 code units
TIMEOUT_SECONDS = 10
BOT_DOWNLOAD_LIMIT = 20 * 1024 * 1024  # getFile serves bots files of up to 20 MB, whatever the upload limit
FILE_HOSTS = ("api.telegram.org",)

# Keys that describe a message rather than being its content; whatever else a message carries is its "kind".
_ENVELOPE_KEYS = frozenset({
    "message_id", "message_thread_id", "from", "sender_chat", "sender_boost_count", "sender_business_bot", "date",
    "business_connection_id", "chat", "forward_origin", "forward_from", "forward_from_chat", "forward_from_message_id",
    "forward_signature", "forward_sender_name", "forward_date", "is_topic_message", "is_automatic_forward",
    "reply_to_message", "external_reply", "quote", "reply_to_story", "via_bot", "edit_date", "has_protected_content",
    "is_from_offline", "media_group_id", "author_signature", "entities", "caption_entities", "link_preview_options",
    "effect_id", "show_caption_above_media", "has_media_spoiler", "reply_markup", "caption", "text", "is_paid_post",
    "paid_star_count", "reply_to_checklist_task_id", "direct_messages_topic", "suggested_post_info",
})

# Chat bookkeeping nobody wrote to the support team; storing it would only clutter the conversation. The
# ``*_participant`` and singular ``new_chat_member`` keys are undocumented duplicates Telegram still sends.
_SERVICE_KEYS = frozenset({
    "new_chat_members", "new_chat_member", "new_chat_participant", "left_chat_member", "left_chat_participant",
    "new_chat_title", "new_chat_photo", "delete_chat_photo",
    "group_chat_created", "supergroup_chat_created", "channel_chat_created", "message_auto_delete_timer_changed",
    "migrate_to_chat_id", "migrate_from_chat_id", "pinned_message", "connected_website", "write_access_allowed",
    "proximity_alert_triggered", "boost_added", "chat_background_set", "chat_shared", "users_shared",
    "forum_topic_created", "forum_topic_edited", "forum_topic_closed", "forum_topic_reopened",
    "general_forum_topic_hidden", "general_forum_topic_unhidden", "giveaway_created", "giveaway_completed",
    "video_chat_scheduled", "video_chat_started", "video_chat_ended", "video_chat_participants_invited",
})

_GROUP_CHATS = frozenset({"group", "supergroup", "channel"})


# --- small readers ---------------------------------------------------------------------------------------------


def _pick(obj: dict, *keys: str) -> dict:
    """The listed fields that are present, so attachment meta never carries a pile of nulls."""
    return {key: obj[key] for key in keys if obj.get(key) is not None}


def _object(obj: dict, key: str, where: str) -> dict:
    value = obj.get(key)
    if not isinstance(value, dict):
        raise BadRequest(f"Telegram update is malformed: '{where}.{key}' is missing or not an object.")
    return value


def _integer(obj: dict, key: str, where: str) -> int:
    value = obj.get(key)
    # bool is an int subclass; ``true`` is never a valid id.
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadRequest(f"Telegram update is malformed: '{where}.{key}' is missing or not an integer.")
    return value


def _user_name(user: dict | None) -> str | None:
    if not user:
        return None
    name = f"{user.get('first_name') or ''} {user.get('last_name') or ''}".strip()
    return name or user.get("username") or (str(user["id"]) if "id" in user else None)


def _chat_name(chat: dict | None) -> str | None:
    if not chat:
        return None
    return chat.get("title") or _user_name(chat)


def _user_profile(user: dict | None) -> Profile:
    if not user:
        return Profile()
    return Profile(name=_user_name(user), username=user.get("username"), language=user.get("language_code"))


def _timestamp(seconds: Any, fallback: str) -> str:
    return iso(from_unix(seconds)) if isinstance(seconds, int | float) and not isinstance(seconds, bool) else fallback


# --- attachments -----------------------------------------------------------------------------------------------


def _file(kind: AttachmentKind, obj: dict, *meta_keys: str, mime: str | None = None) -> Attachment:
    return Attachment(
        kind=kind,
        ref=obj.get("file_id"),
        name=obj.get("file_name"),
        mime=obj.get("mime_type") or mime,
        size=obj.get("file_size"),
        meta=_pick(obj, "file_unique_id", *meta_keys),
    )


def _photo(sizes: list) -> Attachment | None:
    # Telegram sends one PhotoSize per resolution of the same picture; only the largest is worth keeping.
    candidates = [size for size in sizes if isinstance(size, dict) and size.get("file_id")]
    if not candidates:
        return None
    best = max(candidates, key=lambda s: ((s.get("width") or 0) * (s.get("height") or 0), s.get("file_size") or 0))
    return Attachment(
        kind=AttachmentKind.IMAGE,
        ref=best["file_id"],
        size=best.get("file_size"),
        meta=_pick(best, "width", "height", "file_unique_id"),
    )


def _sticker_mime(sticker: dict) -> str:
    if sticker.get("is_animated"):
        return "application/x-tgsticker"
    return "video/webm" if sticker.get("is_video") else "image/webp"


def _sticker(sticker: dict) -> Attachment:
    return _file(AttachmentKind.STICKER, sticker, "emoji", "set_name", "width", "height", mime=_sticker_mime(sticker))


def _animation(animation: dict) -> Attachment:
    # A GIF is stored as a silent video, as Telegram itself does; the flag lets the UI loop it.
    attachment = _file(AttachmentKind.VIDEO, animation, "width", "height", "duration")
    return replace(attachment, meta={**attachment.meta, "animation": True})


def _location(location: dict) -> Attachment:
    return Attachment(kind=AttachmentKind.LOCATION, meta=_pick(location, "latitude", "longitude", "live_period"))


def _venue(venue: dict) -> Attachment:
    place = venue.get("location") or {}
    meta = {**_pick(place, "latitude", "longitude"), **_pick(venue, "title", "address")}
    return Attachment(kind=AttachmentKind.LOCATION, name=venue.get("title"), meta=meta)


def _contact(contact: dict) -> Attachment:
    return Attachment(
        kind=AttachmentKind.CONTACT,
        name=_user_name(contact),
        meta=_pick(contact, "phone_number", "first_name", "last_name", "user_id"),
    )


# Checked in order and the first hit wins: an animation also carries a ``document`` key and a venue a ``location``
# key, and each must still become a single attachment.
_EXTRACTORS: tuple[tuple[str, Callable[[Any], Attachment | None]], ...] = (
    ("photo", _photo),
    ("animation", _animation),
    ("sticker", _sticker),
    ("video_note", lambda v: _file(AttachmentKind.VIDEO, v, "length", "duration", mime="video/mp4")),
    ("video", lambda v: _file(AttachmentKind.VIDEO, v, "width", "height", "duration")),
    ("voice", lambda v: _file(AttachmentKind.VOICE, v, "duration")),
    ("audio", lambda v: _file(AttachmentKind.AUDIO, v, "duration", "title", "performer")),
    ("document", lambda v: _file(AttachmentKind.FILE, v)),
    ("venue", _venue),
    ("location", _location),
    ("contact", _contact),
)


def _attachments(message: dict) -> tuple[Attachment, ...]:
    for key, extract in _EXTRACTORS:
        value = message.get(key)
        if value:
            attachment = extract(value)
            return (attachment,) if attachment else ()
    return ()


# --- forwarded-from --------------------------------------------------------------------------------------------


def _signed(name: str | None, signature: str | None) -> str | None:
    return f"{name} ({signature})" if name and signature else name


_ORIGINS: dict[str, Callable[[dict], str | None]] = {
    "user": lambda o: _user_name(o.get("sender_user")),
    "hidden_user": lambda o: o.get("sender_user_name"),
    "chat": lambda o: _signed(_chat_name(o.get("sender_chat")), o.get("author_signature")),
    "channel": lambda o: _signed(_chat_name(o.get("chat")), o.get("author_signature")),
}


def _forwarded_from(message: dict) -> str | None:
    origin = message.get("forward_origin")
    if isinstance(origin, dict):
        describe = _ORIGINS.get(origin.get("type", ""))
        return (describe(origin) if describe else None) or "unknown sender"
    # Bot API < 7 fields, still seen from older self-hosted Bot API servers.
    if message.get("forward_from"):
        return _user_name(message["forward_from"])
    if message.get("forward_sender_name"):
        return message["forward_sender_name"]
    if message.get("forward_from_chat"):
        return _signed(_chat_name(message["forward_from_chat"]), message.get("forward_signature"))
    return None


# --- messages --------------------------------------------------------------------------------------------------


def _external_id(chat_id: int, message_id: int) -> str:
    # message_id is unique only within its chat.
    return f"{chat_id}:{message_id}"


def _reply_to(message: dict, chat_id: int) -> str | None:
    original = message.get("reply_to_message")
    # In forum topics every message "replies" to the topic's creation message; that is not a real reply.
    if not isinstance(original, dict) or "forum_topic_created" in original or "message_id" not in original:
        return None
    return _external_id(chat_id, original["message_id"])


def _sender(message: dict) -> tuple[Profile, str | None]:
    """Who the conversation is with, and who wrote this message when that differs (groups and channels)."""
    chat = message["chat"]
    if chat.get("type") not in _GROUP_CHATS:
        return _user_profile(message.get("from") or chat), None
    profile = Profile(name=_chat_name(chat), username=chat.get("username"))
    if message.get("sender_chat"):  # anonymous admins and channel posts speak as a chat
        return profile, message.get("author_signature") or _chat_name(message["sender_chat"])
    return profile, _user_name(message.get("from")) or message.get("author_signature")


def _content_kind(message: dict) -> str:
    return next((key for key in message if key not in _ENVELOPE_KEYS), "unknown")


def _message_parts(message: dict, where: str) -> tuple[int, int, Profile, str | None]:
    chat_id = _integer(_object(message, "chat", where), "id", f"{where}.chat")
    message_id = _integer(message, "message_id", where)
    profile, author = _sender(message)
    return chat_id, message_id, profile, author


def _new_message(message: dict, where: str, received_at: str) -> list[InboundEvent]:
    chat_id, message_id, profile, author = _message_parts(message, where)
    attachments = _attachments(message)
    text = message.get("text") or message.get("caption") or ""
    meta: dict = {}
    if not attachments and "text" not in message:
        if not _SERVICE_KEYS.isdisjoint(message):
            return []
        kind = _content_kind(message)
        # Show the operator that something arrived rather than dropping it silently.
        text = "\n".join(filter(None, [f"unsupported message type: {kind}", text]))
        meta = {"unsupported": kind}
    return [
        InboundMessage(
            source_id=str(chat_id),
            external_id=_external_id(chat_id, message_id),
            sent_at=_timestamp(message.get("date"), received_at),
            profile=profile,
            text=text,
            attachments=attachments,
            reply_to_external_id=_reply_to(message, chat_id),
            forwarded_from=_forwarded_from(message),
            author_name=author,
            meta=meta,
        )
    ]


def _edited_message(message: dict, where: str, received_at: str) -> list[InboundEvent]:
    chat_id, message_id, profile, _author = _message_parts(message, where)
    return [
        MessageEdited(
            source_id=str(chat_id),
            external_id=_external_id(chat_id, message_id),
            edited_at=_timestamp(message.get("edit_date"), received_at),
            profile=profile,
            text=message.get("text") or message.get("caption") or "",
            attachments=_attachments(message),
            sent_at=_timestamp(message.get("date"), received_at),
        )
    ]


def _callback(query: dict, where: str, received_at: str) -> list[InboundEvent]:
    sender = query.get("from") or {}
    message = query.get("message") if isinstance(query.get("message"), dict) else {}
    chat = message.get("chat") or {}
    # Buttons on inline-mode messages come without a message; the presser's private chat is the best identity.
    source = chat.get("id", sender.get("id"))
    if source is None or not query.get("id"):
        raise BadRequest(f"Telegram update is malformed: '{where}' needs an id and a chat or sender.")
    on_message = _external_id(chat["id"], message["message_id"]) if "id" in chat and "message_id" in message else None
    return [
        ButtonPressed(
            source_id=str(source),
            event_id=str(query["id"]),
            data=query.get("data") or "",
            at=received_at,  # a callback query carries no timestamp of its own
            on_external_id=on_message,
            profile=_user_profile(sender),
        )
    ]


def _member_change(update: dict, where: str, received_at: str) -> list[InboundEvent]:
    chat = _object(update, "chat", where)
    # Only private chats map to a customer who can block us; group membership is not reachability.
    if chat.get("type") != "private":
        return []
    old = (update.get("old_chat_member") or {}).get("status")
    new = (update.get("new_chat_member") or {}).get("status")
    if new == "kicked":
        reachable = False
    elif old == "kicked" and new == "member":
        reachable = True
    else:
        return []
    return [
        ReachabilityChanged(
            source_id=str(_integer(chat, "id", f"{where}.chat")),
            reachable=reachable,
            at=_timestamp(update.get("date"), received_at),
            profile=_user_profile(update.get("from") or chat),
        )
    ]


_UPDATE_HANDLERS: dict[str, Callable[[dict, str, str], list[InboundEvent]]] = {
    "message": _new_message,
    "channel_post": _new_message,
    "edited_message": _edited_message,
    "edited_channel_post": _edited_message,
    "callback_query": _callback,
    "my_chat_member": _member_change,
}


def _decode(body: bytes) -> dict:
    update = json_object(body, "Telegram update")
    _integer(update, "update_id", "update")
    return update


# --- sending ---------------------------------------------------------------------------------------------------


def _units_that_fit(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` UTF-16 code units (emoji outside the BMP count twice)."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def _boundary(window: str) -> int:
    """The last line break, else the last space, in the second half of ``window``; -1 if there is none.

    A boundary in the first half would leave a stub message, which reads worse than a cut mid-word.
    """
    half = len(window) // 2
    for separator in ("\n", " "):
        index = window.rfind(separator)
        if index > half:
            return index
    return -1


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Cut ``text`` into sendMessage-sized chunks, preferring line breaks, then spaces, over mid-word cuts."""
    chunks: list[str] = []
    while True:
        fit = max(_units_that_fit(text, limit), 1)
        if fit >= len(text):
            return [*chunks, text]
        cut = _boundary(text[:fit])
        if cut < 0:
            chunks.append(text[:fit])
            text = text[fit:]
        else:
            chunks.append(text[:cut])
            text = text[cut + 1 :]  # the separator itself is not worth a character of the next message


def _payload(message: OutboundMessage, text: str, first: bool, last: bool) -> dict:
    payload: dict[str, Any] = {"chat_id": message.source_id, "text": text}
    reply_to = message.reply_to_external_id
    if first and reply_to and ":" in reply_to:
        message_id = reply_to.rsplit(":", 1)[1]
        if message_id.lstrip("-").isdigit():
            # The customer may have deleted the original; the answer still matters more than the quote.
            payload["reply_parameters"] = {"message_id": int(message_id), "allow_sending_without_reply": True}
    if last and message.buttons:
        # Buttons go under the final chunk so they follow the whole answer.
        row = [{"text": label, "callback_data": data} for label, data in message.buttons]
        payload["reply_markup"] = {"inline_keyboard": [row]}
    return payload


_PERMANENT_REASONS: tuple[tuple[int, str, str, bool], ...] = (
    # (error_code, description fragment, operator-facing detail, customer unreachable)
    (403, "blocked by the user", "The customer blocked the bot; they can no longer receive messages here.", True),
    (403, "user is deactivated", "The customer's Telegram account was deleted.", True),
    (403, "kicked from", "The bot was removed from this chat, so it can no longer post here.", True),
    (403, "can't initiate conversation", "The customer has never started the bot, so it cannot write first.", True),
    (400, "chat not found", "Telegram does not know this chat (chat not found); it may have been deleted.", False),
    (401, "", "The bot token was rejected by Telegram (check the inbox settings).", False),
    (404, "", "Telegram did not recognise the bot token (check the inbox settings).", False),
)


def _retryable(status: int, description: str, parameters: dict) -> DeliveryFailed | None:
    if status == 429:
        retry_after = parameters.get("retry_after")
        return DeliveryFailed(
            f"Telegram is rate-limiting this bot ({description}); the message will be retried.",
            transient=True,
            retry_after=float(retry_after) if isinstance(retry_after, int | float) else None,
        )
    if status >= 500:
        detail = f"Telegram had a server error ({description}); the message will be retried."
        return DeliveryFailed(detail, transient=True)
    return None


def _failure(status: int, response: dict) -> DeliveryFailed:
    """Translate a Bot API error into something an operator can act on, and whether retrying can help."""
    if status < 400:
        return DeliveryFailed(
            "Telegram sent an unreadable answer; the message may or may not have been delivered.", transient=False
        )
    description = str(response.get("description") or f"HTTP {status}")
    parameters = response.get("parameters") if isinstance(response.get("parameters"), dict) else {}
    retryable = _retryable(status, description, parameters)
    if retryable:
        return retryable
    for code, fragment, detail, unreachable in _PERMANENT_REASONS:
        if status == code and fragment in description.lower():
            return DeliveryFailed(detail, transient=False, unreachable=unreachable)
    if parameters.get("migrate_to_chat_id"):
        new_id = parameters["migrate_to_chat_id"]
        return DeliveryFailed(f"The group was upgraded to a supergroup (new chat id {new_id}).", transient=False)
    return DeliveryFailed(f"Telegram refused the message: {description}", transient=False)


def _call(method: str, payload: dict, credentials: Credentials, api_base: str) -> Any:
    """POST one Bot API method and return its ``result``. Error texts never include the URL: it holds the token."""
    if not credentials.token:
        raise DeliveryFailed("This Telegram inbox has no bot token configured.", transient=False)
    answer = http.call("POST", f"{api_base.rstrip('/')}/bot{credentials.token}/{method}", platform="Telegram",
                       json_body=payload, timeout=TIMEOUT_SECONDS)
    body = answer.json()
    if body.get("ok") is True:
        return body.get("result")
    code = body.get("error_code")
    raise _failure(code if isinstance(code, int) and not isinstance(code, bool) else answer.status, body)


def _sent_id(result: Any) -> str | None:
    if not isinstance(result, dict) or not isinstance(result.get("chat"), dict):
        return None
    return _external_id(result["chat"]["id"], result["message_id"])


def answer_callback(callback_id: str, credentials: Credentials, api_base: str, text: str | None = None) -> None:
    """Stop the button's loading spinner (answerCallbackQuery). Best-effort: raises ``DeliveryFailed`` on failure."""
    payload: dict[str, Any] = {"callback_query_id": callback_id}
    if text:
        payload["text"] = text
    _call("answerCallbackQuery", payload, credentials, api_base)


# --- downloading customers' files ------------------------------------------------------------------------------


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _file_refusal(status: int, body: dict) -> Exception:
    """Why getFile gave no file: a transient ``DeliveryFailed`` when asking again can help, else ``MediaRefused``."""
    description = str(body.get("description") or f"HTTP {status}")
    if status == 429 or status >= 500:
        return DeliveryFailed(f"Telegram could not look up the file right now ({description}); will retry.",
                              transient=True)
    if "file is too big" in description.lower():
        return media.MediaRefused("Telegram lets bots download files of up to 20 MB and this one is larger; ask the "
                                  "customer to send it another way.")
    if status in (401, 404):
        return media.MediaRefused("Telegram did not accept the bot token (check the inbox settings), so the file "
                                  "was not downloaded.")
    return media.MediaRefused(f"Telegram would not hand over the file ({description}); it may no longer exist.")


def _file_info(file_id: str, credentials: Credentials, api_base: str) -> dict:
    """getFile's File object (file_path, file_size). Error texts never include the URL: it holds the token."""
    if not credentials.token:
        raise media.MediaRefused("This Telegram inbox has no bot token configured, so the file cannot be fetched.")
    answer = http.call("POST", f"{api_base.rstrip('/')}/bot{credentials.token}/getFile", platform="Telegram",
                       json_body={"file_id": file_id}, timeout=TIMEOUT_SECONDS)
    body = answer.json()
    if body.get("ok") is True and isinstance(body.get("result"), dict):
        return body["result"]
    code = body.get("error_code")
    raise _file_refusal(code if isinstance(code, int) and not isinstance(code, bool) else answer.status, body)


def _check_file_size(size: object, max_bytes: int) -> None:
    """Refuse before downloading what Telegram will not serve a bot, or what is over this channel's limit."""
    if not isinstance(size, int) or isinstance(size, bool):
        return
    if size > BOT_DOWNLOAD_LIMIT:
        raise media.MediaRefused(f"Telegram lets bots download files of up to 20 MB and this one is "
                                 f"{_megabytes(size)}; ask the customer to send it another way.")
    if size > max_bytes:
        raise media.MediaRefused(f"The file is larger than this channel's limit ({_megabytes(size)} > "
                                 f"{_megabytes(max_bytes)}); not stored.")


def _named(file: media.Download, file_path: str) -> media.Download:
    """Telegram serves files as application/octet-stream without a name; the path's file name says more."""
    name = file.name or posixpath.basename(file_path) or None
    mime = file.mime
    if mime in (None, "application/octet-stream"):
        mime = mimetypes.guess_type(file_path)[0] or mime
    return replace(file, name=name, mime=mime)


# Outgoing files by kind: the Bot API method and the field that carries the file's URL.
_FILE_METHODS = {
    "image": ("sendPhoto", "photo"),
    "video": ("sendVideo", "video"),
    "audio": ("sendAudio", "audio"),
    "voice": ("sendVoice", "voice"),
}


class TelegramChannel:
    name = "telegram"
    capabilities = Capabilities(can_edit=True, can_delete=True, read_receipts=False, buttons=8,
                                max_text_length=MAX_TEXT, max_attachment_bytes=50 * 1024 * 1024,
                                chat_interval_seconds=1.0, account_per_second=30)  # Bot API FAQ limits

    def verify(self, request: WebhookRequest, credentials: Credentials) -> None:
        # Telegram signs nothing; the secret_token given to setWebhook is echoed in this header on every call.
        supplied = request.headers.get(SECRET_HEADER)
        if not credentials.webhook_secret:
            raise Unauthorized("This Telegram inbox has no webhook secret configured, so no request can be trusted.")
        if supplied is None:
            raise Unauthorized("The request has no X-Telegram-Bot-Api-Secret-Token header.")
        if not hmac.compare_digest(supplied.encode("utf-8"), credentials.webhook_secret.encode("utf-8")):
            raise Unauthorized("The X-Telegram-Bot-Api-Secret-Token header does not match this inbox's secret.")

    def handshake(self, request: WebhookRequest, credentials: Credentials) -> WebhookResponse | None:
        return None  # setWebhook needs no challenge round-trip

    def parse(self, request: WebhookRequest, credentials: Credentials | None = None) -> list[InboundEvent]:
        update = _decode(request.body)
        for kind, handle in _UPDATE_HANDLERS.items():
            if kind in update:
                return handle(_object(update, kind, "update"), kind, request.received_at)
        return []  # inline queries, polls, reactions, join requests...: acknowledged so Telegram stops retrying

    def send(self, message: OutboundMessage, credentials: Credentials, api_base: str) -> SendResult:
        """Send the reply, split into several messages when longer than Telegram allows.

        If a later chunk fails the error is raised even though earlier chunks were delivered.
        """
        chunks = split_text(message.text) if message.text else []
        first_id: str | None = None
        for index, chunk in enumerate(chunks):
            payload = _payload(message, chunk, first=index == 0, last=index == len(chunks) - 1)
            result = _call("sendMessage", payload, credentials, api_base)
            if first_id is None:
                first_id = _sent_id(result)
        for attachment in message.attachments:  # Telegram fetches each file from its (pre-signed) URL
            method, field = _FILE_METHODS.get(attachment.kind, ("sendDocument", "document"))
            result = _call(method, {"chat_id": message.source_id, field: attachment.url}, credentials, api_base)
            first_id = first_id or _sent_id(result)
        return SendResult(external_id=first_id)

    def download(self, ref: str, credentials: Credentials, api_base: str, max_bytes: int) -> media.Download:
        """Fetch a customer's file by its file_id: getFile names its path, then the file itself is downloaded."""
        info = _file_info(ref, credentials, api_base)
        _check_file_size(info.get("file_size"), max_bytes)
        file_path = info.get("file_path")
        if not isinstance(file_path, str) or not file_path:
            raise media.MediaRefused("Telegram gave no download path for the file, so it cannot be fetched.")
        url = f"{api_base.rstrip('/')}/file/bot{credentials.token}/{urllib.parse.quote(file_path, safe='/')}"
        file = media.fetch(url, platform="Telegram", allowed_suffixes=FILE_HOSTS, api_base=api_base,
                           max_bytes=min(max_bytes, BOT_DOWNLOAD_LIMIT))
        return _named(file, file_path)

    def answer_button(self, event_id: str, source_id: str, credentials: Credentials, api_base: str,
                      text: str | None = None) -> None:
        """Stop the spinner on the customer's inline button (the chat is implied by the callback id)."""
        answer_callback(event_id, credentials, api_base, text)
