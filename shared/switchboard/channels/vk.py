"""VK (VKontakte) Callback API adapter: authenticates community events by the ``secret`` in their body, normalizes
message events into domain events and sends replies with ``messages.send``."""

from __future__ import annotations

import hashlib
import hmac
import json
import mimetypes
import re
import urllib.parse
from collections.abc import Callable
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

API_VERSION = "5.199"
MAX_TEXT = 4096  # messages.send rejects longer texts with error 914
TIMEOUT_SECONDS = 10
MAX_BUTTON_LABEL = 40  # VK rejects the whole keyboard (error 911) when a label is longer
MAX_BUTTON_PAYLOAD = 255
BUTTONS_PER_ROW = 3  # more than three labels in a row get truncated on phones
# Where the file URLs in VK's payloads point: vk.com itself (documents, stickers) and its storage and CDN hosts.
FILE_HOSTS = ("userapi.com", "vk.com", "vk.me", "vkuseraudio.net", "vkuservideo.net", "vk-cdn.net", "mycdn.me")

# VK treats any answer but a bare "ok" (HTTP 200, text/plain) as a failure and re-sends the event; after repeated
# failures it stops calling the server altogether. The webhook service answers every accepted event with this.
ACK = WebhookResponse(200, "ok", "text/plain")

_CSAT_DATA = re.compile(r"csat:(\d+):(.+)", re.DOTALL)
# A VK media reference as messages.send's ``attachment`` parameter takes it, e.g. ``photo-229876543_457239017_ab12``.
_VK_MEDIA_REF = re.compile(r"(photo|video|audio|doc|wall|market|poll|audio_message|story)-?\d+_\d+(_[0-9a-zA-Z]+)?")
# Photo size letters from smallest to largest, for old photos whose sizes carry no dimensions.
_SIZE_ORDER = "smopqrxyzw"


# --- small readers ---------------------------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # bool is an int subclass; ``true`` is no id


def _pick(obj: dict, *keys: str) -> dict:
    """The listed fields that are present, so attachment meta never carries a pile of nulls."""
    return {key: obj[key] for key in keys if obj.get(key) is not None}


def _integer(obj: dict, key: str, where: str) -> int:
    value = obj.get(key)
    if not _is_int(value):
        raise BadRequest(f"VK event is malformed: '{where}.{key}' is missing or not an integer.")
    return value


def _timestamp(seconds: Any, fallback: str) -> str:
    return iso(from_unix(seconds)) if _is_int(seconds) and seconds > 0 else fallback


def _handle(owner_id: Any) -> str:
    """How VK itself names a user (``id123``) or a community (``club123``): names are not in the payload."""
    if not _is_int(owner_id):
        return "unknown sender"
    return f"id{owner_id}" if owner_id > 0 else f"club{-owner_id}"


def _external_id(peer_id: int, message: dict) -> str | None:
    # Bots see ``id = 0`` for group-chat messages; the conversation message id is the one every member shares.
    cmid = message.get("conversation_message_id")
    if _is_int(cmid) and cmid > 0:
        return f"{peer_id}:{cmid}"
    message_id = message.get("id")
    return str(message_id) if _is_int(message_id) and message_id > 0 else None


def _decode(body: bytes) -> dict:
    event = json_object(body, "VK event")
    if not isinstance(event.get("type"), str):
        raise BadRequest("VK event is malformed: 'type' is missing or not a string.")
    return event


# --- attachments -----------------------------------------------------------------------------------------------


def _media_ref(kind: str, obj: dict) -> str | None:
    """The ``<type><owner>_<id>[_<access_key>]`` string messages.send accepts, so a media item can be re-sent."""
    if not _is_int(obj.get("owner_id")) or not _is_int(obj.get("id")):
        return None
    key = f"_{obj['access_key']}" if obj.get("access_key") else ""
    return f"{kind}{obj['owner_id']}_{obj['id']}{key}"


def _meta(kind: str, obj: dict, *keys: str) -> dict:
    meta = _pick(obj, *keys)
    if ref := _media_ref(kind, obj):
        meta["vk_id"] = ref
    return meta


def _largest(images: Any) -> dict | None:
    candidates = [image for image in images or [] if isinstance(image, dict) and image.get("url")]
    if not candidates:
        return None
    return max(candidates, key=lambda i: ((i.get("width") or 0) * (i.get("height") or 0),
                                          _SIZE_ORDER.find(str(i.get("type") or ""))))


def _photo(photo: dict) -> Attachment | None:
    # VK lists one entry per resolution of the same picture (and, lately, the original); keep only the largest.
    extra = [photo["orig_photo"]] if isinstance(photo.get("orig_photo"), dict) else []
    best = _largest([*(photo.get("sizes") or []), *extra])
    if best is None:
        return None
    return Attachment(kind=AttachmentKind.IMAGE, ref=best["url"],
                      meta={**_pick(best, "width", "height"), **_meta("photo", photo)})


_DOC_KINDS = {3: AttachmentKind.IMAGE, 4: AttachmentKind.IMAGE, 5: AttachmentKind.AUDIO, 6: AttachmentKind.VIDEO}


def _doc(doc: dict) -> Attachment:
    ext = str(doc.get("ext") or "")
    return Attachment(
        kind=_DOC_KINDS.get(doc.get("type"), AttachmentKind.FILE),
        ref=doc.get("url"),
        name=doc.get("title"),
        mime=mimetypes.guess_type(f"file.{ext}")[0] if ext else None,
        size=doc.get("size") if _is_int(doc.get("size")) else None,
        meta=_meta("doc", doc, "ext"),
    )


def _voice(voice: dict) -> Attachment:
    ogg = voice.get("link_ogg")
    return Attachment(kind=AttachmentKind.VOICE, ref=ogg or voice.get("link_mp3"),
                      mime="audio/ogg" if ogg else "audio/mpeg",
                      meta=_meta("audio_message", voice, "duration", "transcript"))


def _sticker(sticker: dict) -> Attachment:
    best = _largest(sticker.get("images")) or _largest(sticker.get("images_with_background")) or {}
    return Attachment(kind=AttachmentKind.STICKER, ref=best.get("url"), mime="image/png" if best else None,
                      meta=_pick(sticker, "sticker_id", "product_id"))


def _video(video: dict) -> Attachment:
    # VK gives no file to download, only its own player; the operator gets a link instead.
    meta = _meta("video", video, "duration", "width", "height")
    if _is_int(video.get("owner_id")) and _is_int(video.get("id")):
        meta["url"] = f"https://vk.com/video{video['owner_id']}_{video['id']}"
    return Attachment(kind=AttachmentKind.VIDEO, name=video.get("title"), meta=meta)


def _audio(audio: dict) -> Attachment:
    name = " — ".join(part for part in (audio.get("artist"), audio.get("title")) if part) or None
    return Attachment(kind=AttachmentKind.AUDIO, ref=audio.get("url") or None, name=name,
                      mime="audio/mpeg" if audio.get("url") else None, meta=_meta("audio", audio, "duration"))


def _graffiti(graffiti: dict) -> Attachment:
    return Attachment(kind=AttachmentKind.IMAGE, ref=graffiti.get("url"),
                      meta=_meta("graffiti", graffiti, "width", "height"))


_EXTRACTORS: dict[str, Callable[[dict], Attachment | None]] = {
    "photo": _photo,
    "doc": _doc,
    "audio_message": _voice,
    "sticker": _sticker,
    "video": _video,
    "audio": _audio,
    "graffiti": _graffiti,
}


def _wall_url(post: dict) -> str | None:
    owner = post.get("owner_id", post.get("to_id", post.get("from_id")))
    return f"https://vk.com/wall{owner}_{post['id']}" if _is_int(owner) and _is_int(post.get("id")) else None


# Shared posts and links have no file to keep; they become links in the text, where the operator can open them.
_LINKS: dict[str, Callable[[dict], str | None]] = {
    "link": lambda link: link.get("url"),
    "wall": _wall_url,
}


def _location(geo: Any) -> Attachment | None:
    coordinates = geo.get("coordinates") if isinstance(geo, dict) else None
    if not isinstance(coordinates, dict):
        return None
    place = geo.get("place") if isinstance(geo.get("place"), dict) else {}
    meta = {**_pick(coordinates, "latitude", "longitude"), **_pick(place, "title", "city", "country")}
    return Attachment(kind=AttachmentKind.LOCATION, name=place.get("title"), meta=meta)


class _Content:
    """What one message carries, gathered from its text, attachments and geo."""

    def __init__(self) -> None:
        self.attachments: list[Attachment] = []
        self.links: list[str] = []
        self.unsupported: list[str] = []

    def add(self, item: Any) -> None:
        kind = item.get("type") if isinstance(item, dict) else None
        value = item.get(kind) if kind else None
        if not isinstance(value, dict):
            self.unsupported.append(str(kind or "unknown"))
        elif kind in _EXTRACTORS:
            attachment = _EXTRACTORS[kind](value)
            if attachment:
                self.attachments.append(attachment)
        elif kind in _LINKS:
            if link := _LINKS[kind](value):
                self.links.append(link)
        else:
            self.unsupported.append(kind)  # polls, gifts, market items, stories, calls, articles...

    def collect(self, message: dict) -> _Content:
        for item in message.get("attachments") or []:
            self.add(item)
        if location := _location(message.get("geo")):
            self.attachments.append(location)
        return self


def _with_links(text: str, links: list[str]) -> str:
    missing = [link for link in links if link not in text]
    return "\n".join(filter(None, [text, *missing]))


# --- messages --------------------------------------------------------------------------------------------------


def _forwarded(message: dict, received_at: str) -> list[dict]:
    """The forwarded messages (one level) as plain data: VK names no one, so authors are ``id…``/``club…``."""
    return [
        {"from": _handle(item.get("from_id")), "text": item.get("text") or "",
         "date": _timestamp(item.get("date"), received_at)}
        for item in message.get("fwd_messages") or [] if isinstance(item, dict)
    ]


def _reply_to(message: dict, peer_id: int) -> str | None:
    original = message.get("reply_message")
    return _external_id(peer_id, original) if isinstance(original, dict) else None


def _body(message: dict, received_at: str) -> tuple[str, tuple[Attachment, ...], dict]:
    """Text, attachments and meta of a message, with forwarded messages folded in."""
    content = _Content().collect(message)
    forwarded = _forwarded(message, received_at)
    for item in message.get("fwd_messages") or []:
        if isinstance(item, dict):
            content.collect(item)  # a forwarded photo of a receipt is the point of the message
    text = _with_links(message.get("text") or "", content.links)
    meta: dict = {}
    if forwarded:
        meta["forwarded"] = forwarded
        # A bare forward has no text of its own; show what was forwarded rather than an empty bubble.
        text = text or "\n".join(item["text"] for item in forwarded if item["text"])
    if content.unsupported:
        meta["unsupported"] = content.unsupported
        if not text and not content.attachments:
            # Show the operator that something arrived rather than dropping it silently.
            text = f"unsupported message type: {', '.join(content.unsupported)}"
    return text, tuple(content.attachments), meta


def _message_parts(message: dict, where: str) -> tuple[int, str]:
    peer_id = _integer(message, "peer_id", where)
    external_id = _external_id(peer_id, message)
    if external_id is None:
        raise BadRequest(f"VK event is malformed: '{where}' has neither a conversation_message_id nor an id.")
    return peer_id, external_id


def _inbound(message: dict, event: dict, where: str, received_at: str, echo: bool = False) -> InboundMessage:
    peer_id, external_id = _message_parts(message, where)
    text, attachments, meta = _body(message, received_at)
    if _is_int(message.get("from_id")):
        meta["vk_user_id"] = message["from_id"]  # who wrote; users.get turns it into a name later, elsewhere
    if isinstance(event.get("event_id"), str):
        meta["event_id"] = event["event_id"]  # VK re-sends an unanswered event with the same id
    if echo:
        # Our own messages.send calls come back as message_reply too; random_id tells them apart (random_id_for).
        meta.update(_pick(message, "random_id", "admin_author_id"))
    forwarded = meta.get("forwarded")
    return InboundMessage(
        source_id=str(peer_id),
        external_id=external_id,
        sent_at=_timestamp(message.get("date"), received_at),
        profile=Profile(),  # names are not in the payload; users.get fills them in later
        text=text,
        attachments=attachments,
        reply_to_external_id=_reply_to(message, peer_id),
        forwarded_from=forwarded[0]["from"] if forwarded else None,
        author_name=_handle(message.get("from_id")) if peer_id >= 2_000_000_000 else None,  # group chats only
        echo=echo,
        meta=meta,
    )


def _object(event: dict) -> dict:
    value = event.get("object")
    if not isinstance(value, dict):
        raise BadRequest(f"VK event is malformed: '{event['type']}.object' is missing or not an object.")
    return value


def _message_new(event: dict, received_at: str) -> list[InboundEvent]:
    obj = _object(event)
    # API >= 5.103 wraps the message with client_info; older versions put it directly in ``object``.
    message = obj["message"] if isinstance(obj.get("message"), dict) else obj
    return [_inbound(message, event, "message_new.object.message", received_at)]


def _message_reply(event: dict, received_at: str) -> list[InboundEvent]:
    return [_inbound(_object(event), event, "message_reply.object", received_at, echo=True)]


def _message_edit(event: dict, received_at: str) -> list[InboundEvent]:
    message = _object(event)
    if message.get("out") == 1:
        # An edit of one of the community's own messages: storing it could turn our text into a customer message.
        return []
    peer_id, external_id = _message_parts(message, "message_edit.object")
    text, attachments, _ = _body(message, received_at)
    return [
        MessageEdited(
            source_id=str(peer_id),
            external_id=external_id,
            edited_at=_timestamp(message.get("update_time"), received_at),
            text=text,
            attachments=attachments,
            sent_at=_timestamp(message.get("date"), received_at),
        )
    ]


def _button_data(payload: Any) -> str:
    if isinstance(payload, dict) and "csat" in payload:
        return f"csat:{payload['csat']}:{payload.get('subject') or ''}"
    if isinstance(payload, dict) and set(payload) == {"data"} and isinstance(payload["data"], str):
        return payload["data"]  # one of our own non-CSAT buttons (see _button_payload)
    if isinstance(payload, str):
        return payload
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def _message_event(event: dict, received_at: str) -> list[InboundEvent]:
    obj = _object(event)
    peer_id = _integer(obj, "peer_id", "message_event.object")
    if not isinstance(obj.get("event_id"), str) or not obj["event_id"]:
        raise BadRequest("VK event is malformed: 'message_event.object.event_id' is missing.")
    cmid = obj.get("conversation_message_id")
    return [
        ButtonPressed(
            source_id=str(peer_id),
            event_id=obj["event_id"],  # also what messages.sendMessageEventAnswer needs (answer_callback)
            data=_button_data(obj.get("payload")),
            at=received_at,  # a button event carries no timestamp of its own
            on_external_id=f"{peer_id}:{cmid}" if _is_int(cmid) and cmid > 0 else None,
        )
    ]


def _reachability(reachable: bool) -> Callable[[dict, str], list[InboundEvent]]:
    def handle(event: dict, received_at: str) -> list[InboundEvent]:
        user_id = _integer(_object(event), "user_id", f"{event['type']}.object")
        return [ReachabilityChanged(source_id=str(user_id), reachable=reachable, at=received_at)]

    return handle


_EVENT_HANDLERS: dict[str, Callable[[dict, str], list[InboundEvent]]] = {
    "message_new": _message_new,
    "message_reply": _message_reply,
    "message_edit": _message_edit,
    "message_event": _message_event,
    "message_allow": _reachability(True),
    "message_deny": _reachability(False),
}


# --- sending ---------------------------------------------------------------------------------------------------


def random_id_for(message_id: str) -> int:
    """messages.send's ``random_id`` for one of our messages: VK ignores a second send with the same value, so a
    retried delivery is not shown twice. Also how the service recognises its own messages in ``message_reply``."""
    digest = hashlib.sha256(message_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF or 1  # 0 would switch VK's duplicate check off


def _button_payload(data: str) -> str:
    match = _CSAT_DATA.fullmatch(data)
    payload: dict[str, Any] = {"csat": int(match.group(1)), "subject": match.group(2)} if match else {"data": data}
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    if len(text) > MAX_BUTTON_PAYLOAD:
        raise DeliveryFailed(f"A button's data is too long for VK ({MAX_BUTTON_PAYLOAD} characters at most).",
                             transient=False)
    return text


def _label(label: str) -> str:
    return label if len(label) <= MAX_BUTTON_LABEL else label[: MAX_BUTTON_LABEL - 1] + "…"


def _keyboard(buttons: tuple[tuple[str, str], ...]) -> str:
    # Callback buttons keep the chat clean: a press becomes a message_event, not a message from the customer.
    row_buttons = [
        {"action": {"type": "callback", "label": _label(label), "payload": _button_payload(data)}}
        for label, data in buttons
    ]
    rows = [row_buttons[i : i + BUTTONS_PER_ROW] for i in range(0, len(row_buttons), BUTTONS_PER_ROW)]
    return json.dumps({"inline": True, "buttons": rows}, ensure_ascii=False, separators=(",", ":"))


def _reply_params(reply_to: str | None) -> dict[str, str]:
    if not reply_to:
        return {}
    peer, _, cmid = reply_to.rpartition(":")
    if peer.lstrip("-").isdigit() and cmid.isdigit():
        # ``forward`` with is_reply works in dialogs and group chats alike, where messages have no plain id.
        forward = {"peer_id": int(peer), "conversation_message_ids": [int(cmid)], "is_reply": 1}
        return {"forward": json.dumps(forward, separators=(",", ":"))}
    return {"reply_to": reply_to} if reply_to.isdigit() else {}


def _attachment_refs(message: OutboundMessage) -> dict[str, str]:
    refs = [attachment.url for attachment in message.attachments]
    if not refs:
        return {}
    if not all(_VK_MEDIA_REF.fullmatch(ref) for ref in refs):
        # VK only sends files already uploaded to VK (photos.getMessagesUploadServer → upload → save).
        raise DeliveryFailed("VK can only send files that were uploaded to VK first, and Switchboard cannot upload "
                             "files to VK yet; send the text alone or share a link.", transient=False)
    return {"attachment": ",".join(refs)}


def _send_form(message: OutboundMessage, token: str) -> dict[str, str]:
    form = {
        # peer_ids (even for one peer) makes VK answer with the conversation message id, which keeps our ids in
        # the same "peer:cmid" shape as the webhooks' (edits, replies and echoes then match).
        "peer_ids": message.source_id,
        "random_id": str(random_id_for(message.message_id)),
        "message": message.text,
        "v": API_VERSION,
        "access_token": token,  # in the body, never the URL, so it stays out of access logs
        **_reply_params(message.reply_to_external_id),
        **_attachment_refs(message),
    }
    if message.buttons:
        form["keyboard"] = _keyboard(message.buttons)
    return form


# (operator-facing detail, customer unreachable) for errors no retry can fix.
_PERMANENT_ERRORS: dict[int, tuple[str, bool]] = {
    901: ("The customer has not allowed messages from the community (or has denied them since); "
          "they must write to the community first.", True),
    900: ("The customer has blacklisted the community; they can no longer receive messages here.", True),
    902: ("The customer's privacy settings do not allow messages from the community.", True),
    914: (f"The message is too long for VK ({MAX_TEXT} characters at most).", False),
    5: ("VK rejected the community token (check the inbox settings).", False),
    27: ("VK rejected the community token (check the inbox settings).", False),
    7: ("The community token may not send messages (give it the 'messages' permission in the community's "
        "API settings).", False),
    911: ("VK rejected the message's buttons (keyboard format is invalid).", False),
    912: ("Bot features are off for this community (enable them in the community's message settings).", False),
}

# error_code → seconds to wait, when VK says; all are worth retrying.
_TRANSIENT_ERRORS: dict[int, float | None] = {
    6: 1.0,  # too many requests per second
    9: None,  # flood control
    10: None,  # internal server error
    1: None,  # unknown error, usually a hiccup
    29: None,  # the method's daily quota
}


def _failure(error: dict) -> DeliveryFailed:
    """Translate a VK API error into something an operator can act on, and whether retrying can help."""
    code = error.get("error_code", error.get("code"))
    description = str(error.get("error_msg") or error.get("description") or "no description")
    if code in _TRANSIENT_ERRORS:
        return DeliveryFailed(f"VK is busy ({description}); the message will be retried.", transient=True,
                              retry_after=_TRANSIENT_ERRORS[code])
    if code in _PERMANENT_ERRORS:
        detail, unreachable = _PERMANENT_ERRORS[code]
        return DeliveryFailed(detail, transient=False, unreachable=unreachable)
    return DeliveryFailed(f"VK refused the message: {description} (error {code}).", transient=False)


def _call(method: str, form: dict[str, str], api_base: str) -> Any:
    """POST one API method and return its ``response``. VK answers errors with HTTP 200 and an ``error`` object."""
    answer = http.call("POST", f"{api_base.rstrip('/')}/method/{method}", platform="VK", form=form,
                       timeout=TIMEOUT_SECONDS)
    body = answer.json()
    if isinstance(body.get("error"), dict):
        raise _failure(body["error"])
    if "response" in body:
        return body["response"]
    if answer.status >= 500:
        raise DeliveryFailed(f"VK had a server error (HTTP {answer.status}); the message will be retried.",
                             transient=True)
    raise DeliveryFailed("VK sent an unreadable answer; the message may or may not have been delivered.",
                         transient=False)


def _sent_id(response: Any) -> str | None:
    """The external id of what messages.send created: a message id, or one result per peer (``peer_ids``)."""
    if _is_int(response):
        return str(response)
    item = response[0] if isinstance(response, list) and response and isinstance(response[0], dict) else None
    if item is None:
        return None
    if isinstance(item.get("error"), dict):
        raise _failure(item["error"])  # with peer_ids, a refusal for that one peer comes back inside the result
    if _is_int(item.get("peer_id")):
        return _external_id(item["peer_id"], {"conversation_message_id": item.get("conversation_message_id"),
                                              "id": item.get("message_id")})
    return str(item["message_id"]) if _is_int(item.get("message_id")) else None


def profile(user_id: str, credentials: Credentials, api_base: str) -> Profile:
    """users.get: VK events carry only the user's id. Chats and communities (non-user peers) have no profile."""
    if not user_id.isdigit() or int(user_id) >= 2_000_000_000:
        return Profile()
    users = _call("users.get", {"user_ids": user_id, "fields": "screen_name", "v": API_VERSION,
                                "access_token": _token(credentials)}, api_base)
    user = users[0] if isinstance(users, list) and users and isinstance(users[0], dict) else {}
    name = " ".join(part for part in (user.get("first_name"), user.get("last_name")) if isinstance(part, str))
    return Profile(name=name or None, username=user.get("screen_name"))


def _token(credentials: Credentials) -> str:
    if not credentials.token:
        raise DeliveryFailed("This VK inbox has no community token configured.", transient=False)
    return credentials.token


def answer_callback(event_id: str, peer_id: str, credentials: Credentials, api_base: str, text: str | None = None,
                    user_id: str | None = None) -> None:
    """Stop a callback button's spinner (messages.sendMessageEventAnswer), optionally with a snackbar ``text``.

    ``user_id`` defaults to ``peer_id``, which is right for private dialogs. Raises ``DeliveryFailed`` on failure.
    """
    form = {"event_id": event_id, "peer_id": peer_id, "user_id": user_id or peer_id, "v": API_VERSION,
            "access_token": _token(credentials)}
    if text:
        form["event_data"] = json.dumps({"type": "show_snackbar", "text": text}, ensure_ascii=False)
    _call("messages.sendMessageEventAnswer", form, api_base)


# --- the channel -----------------------------------------------------------------------------------------------


def _check_secret(event: dict, credentials: Credentials) -> None:
    if not credentials.webhook_secret:
        raise Unauthorized("This VK inbox has no secret key configured, so no request can be trusted.")
    supplied = event.get("secret")
    if not isinstance(supplied, str) or not supplied:
        raise Unauthorized("The VK event has no 'secret'; set the inbox's secret key in the community's "
                           "Callback API settings.")
    if not hmac.compare_digest(supplied.encode("utf-8"), credentials.webhook_secret.encode("utf-8")):
        raise Unauthorized("The VK event's 'secret' does not match this inbox's secret key.")


def _check_group(event: dict, credentials: Credentials) -> None:
    expected = credentials.extra.get("group_id")
    if expected in (None, ""):
        return
    if str(event.get("group_id")) != str(expected).lstrip("-"):
        raise Unauthorized("The VK event comes from another community than the one this inbox is connected to.")


def _is_url(ref: str) -> bool:
    parts = urllib.parse.urlsplit(ref)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


class VkChannel:
    name = "vk"
    # Outgoing files need an upload to VK first, which the adapter cannot do yet (see _attachment_refs).
    capabilities = Capabilities(can_edit=True, can_delete=True, read_receipts=False, buttons=6,
                                max_text_length=MAX_TEXT, attachments=False,
                                account_per_second=20)  # messages.send: 20 calls a second per community

    def verify(self, request: WebhookRequest, credentials: Credentials) -> None:
        # VK signs nothing: the secret key sits in the JSON body, so the body has to be decoded first.
        event = _decode(request.body)
        _check_secret(event, credentials)
        _check_group(event, credentials)

    def handshake(self, request: WebhookRequest, credentials: Credentials) -> WebhookResponse | None:
        """Answer the ``confirmation`` event, sent by POST when the server address is saved in VK's settings."""
        if request.method != "POST":
            return None
        try:
            event = _decode(request.body)
        except BadRequest:
            return None  # not a confirmation; verify() reports what is wrong with it
        if event["type"] != "confirmation":
            return None
        self.verify(request, credentials)
        code = credentials.extra.get("confirmation_code")
        if not code:
            raise BadRequest("This VK inbox has no confirmation code configured (the 'string to be returned' in "
                             "the community's Callback API settings).")
        return WebhookResponse(200, str(code), "text/plain")

    def acknowledgement(self) -> WebhookResponse:
        """The answer to every accepted event other than ``confirmation``: a bare ``ok``."""
        return ACK

    def parse(self, request: WebhookRequest, credentials: Credentials | None = None) -> list[InboundEvent]:
        event = _decode(request.body)
        handle = _EVENT_HANDLERS.get(event["type"])
        if handle is None:
            return []  # typing, joins and leaves, wall and photo events...: acknowledged so VK stops retrying
        return handle(event, request.received_at)

    def send(self, message: OutboundMessage, credentials: Credentials, api_base: str) -> SendResult:
        """Send the reply. A retry of the same message carries the same random_id, so VK delivers it once."""
        response = _call("messages.send", _send_form(message, _token(credentials)), api_base)
        return SendResult(external_id=_sent_id(response))

    def download(self, ref: str, credentials: Credentials, api_base: str, max_bytes: int) -> media.Download:
        """Fetch a customer's file from the URL parse() kept (largest photo size, document, voice message); VK's
        file URLs are signed, so no token is sent."""
        if not _is_url(ref):
            raise media.MediaRefused("This VK attachment has no downloadable file (VK gave no link to it).")
        return media.fetch(ref, platform="VK", allowed_suffixes=FILE_HOSTS, api_base=api_base, max_bytes=max_bytes)

    def profile(self, source_id: str, credentials: Credentials, api_base: str) -> Profile:
        return profile(source_id, credentials, api_base)

    def answer_button(self, event_id: str, source_id: str, credentials: Credentials, api_base: str,
                      text: str | None = None) -> None:
        """Stop the spinner on the customer's callback button in the dialog ``source_id`` (the peer id)."""
        answer_callback(event_id, source_id, credentials, api_base, text)
