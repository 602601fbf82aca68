"""Twilio Messaging adapter for SMS/MMS and WhatsApp: checks ``X-Twilio-Signature``, normalizes incoming-message and
status-callback webhooks into domain events and sends replies through the Messages API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import urllib.parse
from datetime import UTC, datetime

from ..domain.clock import iso, parse_iso
from ..domain.errors import BadRequest, DeliveryFailed, Unauthorized
from ..domain.inbound import (
    ButtonPressed,
    DeliveryReceipt,
    InboundEvent,
    InboundMessage,
    Profile,
    ReachabilityChanged,
)
from ..domain.message import Attachment, AttachmentKind
from . import http, media
from .base import Capabilities, Credentials, OutboundMessage, SendResult, WebhookRequest, WebhookResponse

SIGNATURE_HEADER = "x-twilio-signature"
MAX_TEXT = 1600  # the Messages API rejects longer bodies (error 21617)
TIMEOUT_SECONDS = 10
FORM_TYPE = "application/x-www-form-urlencoded"
# MediaUrlN is on Twilio's API (the only host the account's credentials go to), which redirects to its media CDN.
MEDIA_API_HOSTS = ("twilio.com",)
MEDIA_HOSTS = ("twilio.com", "twiliocdn.com")

# Twilio reads the answer to an incoming-message webhook as TwiML; an empty <Response/> means "no auto-reply".
ACK = WebhookResponse(200, '<?xml version="1.0" encoding="UTF-8"?><Response/>', "text/xml")

SMS_CAPABILITIES = Capabilities(can_edit=False, can_delete=False, read_receipts=False, buttons=0,
                                max_text_length=MAX_TEXT, max_attachment_bytes=5 * 1024 * 1024)
# WhatsApp reports reads, allows bigger media, and free-form replies only within 24 h of the customer's last message.
WHATSAPP_CAPABILITIES = Capabilities(can_edit=False, can_delete=False, read_receipts=True, buttons=0,
                                     max_text_length=MAX_TEXT, reply_window_hours=24,
                                     max_attachment_bytes=16 * 1024 * 1024)

_CSAT_DATA = re.compile(r"csat:[1-5]:.{1,128}", re.DOTALL)

# Twilio's own opt-out handling on long codes answers these (exact, case-insensitive) without the Advanced Opt-Out
# feature, which is the only thing that adds an ``OptOutType`` parameter. Either way the number is blocked.
_DEFAULT_KEYWORDS = {
    **dict.fromkeys(("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"), "STOP"),
    **dict.fromkeys(("START", "YES", "UNSTOP"), "START"),
    **dict.fromkeys(("HELP", "INFO"), "HELP"),
}

# Statuses of a message arriving at us: a webhook carrying one of these is an incoming message.
_INBOUND_STATUSES = frozenset({"received", "receiving"})

# Twilio's MessageStatus → ours; queued, accepted, scheduled, sending and partially_delivered are ignored.
_STATUSES = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}

_DELIVERY_ERRORS = {
    "30003": "The phone is switched off or unreachable.",
    "30004": "The recipient blocked messages.",
    "30005": "Unknown or inactive number.",
    "30006": "Landline or unreachable carrier.",
    "30007": "Filtered by the carrier as spam.",
    "30008": "The carrier could not deliver the message (unknown error).",
    "21610": "The customer replied STOP and unsubscribed.",
    "63016": "Outside WhatsApp's 24-hour window: a template is needed.",
}


# --- signature -------------------------------------------------------------------------------------------------


def signature(url: str, params: list[tuple[str, str]], auth_token: str) -> str:
    """``X-Twilio-Signature`` for a form POST: HMAC-SHA1 (key: the auth token) of the URL followed by each parameter
    name and value, sorted by name, base64-encoded.

    A repeated name contributes each distinct value in sorted order, as Twilio's own SDKs compute it.
    """
    grouped: dict[str, set[str]] = {}
    for name, value in params:
        grouped.setdefault(name, set()).add(value)
    data = url + "".join(name + value for name in sorted(grouped) for value in sorted(grouped[name]))
    digest = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _url_variants(url: str) -> list[str]:
    """The URL as given, and with its default port added or removed: Twilio signs whichever it was configured with."""
    parts = urllib.parse.urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    if default is None or not parts.hostname:
        return [url]
    host = parts.netloc.rsplit("@", 1)[-1]
    userinfo = parts.netloc[: len(parts.netloc) - len(host)]
    if parts.port is None:
        other = f"{userinfo}{host}:{default}"
    elif parts.port == default:
        other = f"{userinfo}{host.rsplit(':', 1)[0]}"
    else:
        return [url]
    return [url, urllib.parse.urlunsplit(parts._replace(netloc=other))]


# --- reading the form ------------------------------------------------------------------------------------------


def _form(request: WebhookRequest) -> list[tuple[str, str]]:
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != FORM_TYPE:
        raise BadRequest(f"Twilio webhooks must be {FORM_TYPE}, not '{content_type or 'unspecified'}'.")
    try:
        return urllib.parse.parse_qsl(request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError) as error:
        raise BadRequest(f"Twilio webhook is not a valid form body: {error}.") from None


def _first_values(pairs: list[tuple[str, str]]) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in pairs:
        params.setdefault(name, value)
    return params


def _split_address(address: str) -> tuple[str, str]:
    """``whatsapp:+14155238886`` → ("whatsapp", "+14155238886"); a bare number is an SMS address."""
    channel, colon, number = address.partition(":")
    return (channel.lower(), number) if colon else ("sms", address)


# --- incoming messages -----------------------------------------------------------------------------------------

_MEDIA_KINDS = {"image": AttachmentKind.IMAGE, "video": AttachmentKind.VIDEO, "audio": AttachmentKind.AUDIO}
_EXACT_MEDIA_KINDS = {"text/vcard": AttachmentKind.CONTACT, "text/x-vcard": AttachmentKind.CONTACT}
# WhatsApp sends stickers as WebP images and voice notes as Ogg/Opus.
_WHATSAPP_MEDIA_KINDS = {"image/webp": AttachmentKind.STICKER, "audio/ogg": AttachmentKind.VOICE}


def _media_kind(mime: str, address_type: str) -> AttachmentKind:
    if address_type == "whatsapp" and mime in _WHATSAPP_MEDIA_KINDS:
        return _WHATSAPP_MEDIA_KINDS[mime]
    return _EXACT_MEDIA_KINDS.get(mime) or _MEDIA_KINDS.get(mime.split("/", 1)[0], AttachmentKind.FILE)


def _media(params: dict[str, str], address_type: str) -> list[Attachment]:
    """MediaUrlN/MediaContentTypeN. The URLs are on api.twilio.com and need the account's basic auth to download."""
    try:
        count = int(params.get("NumMedia") or 0)
    except ValueError:
        count = 0
    attachments = []
    for index in range(count):
        url = params.get(f"MediaUrl{index}")
        if not url:
            continue
        mime = (params.get(f"MediaContentType{index}") or "").split(";", 1)[0].strip().lower()
        attachments.append(Attachment(kind=_media_kind(mime, address_type), ref=url, mime=mime or None))
    return attachments


def _coordinate(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _location(params: dict[str, str]) -> list[Attachment]:
    latitude, longitude = _coordinate(params.get("Latitude")), _coordinate(params.get("Longitude"))
    if latitude is None or longitude is None:
        return []
    meta = {"latitude": latitude, "longitude": longitude}
    meta.update({key.lower(): params[key] for key in ("Address", "Label") if params.get(key)})
    return [Attachment(kind=AttachmentKind.LOCATION, name=params.get("Label") or params.get("Address"), meta=meta)]


def _opt_out(params: dict[str, str], address_type: str) -> str | None:
    """STOP, START or HELP when this message is an opt-out keyword, else None."""
    declared = (params.get("OptOutType") or "").strip().upper()
    if declared:
        return declared
    if address_type != "sms":
        return None  # WhatsApp has no carrier keyword handling; "stop" there is just a word
    return _DEFAULT_KEYWORDS.get((params.get("Body") or "").strip().upper())


def _meta(params: dict[str, str], address_type: str, opt_out: str | None) -> dict:
    meta: dict = {"address_type": address_type}
    optional = {"to": params.get("To"), "wa_id": params.get("WaId"), "button_payload": params.get("ButtonPayload"),
                "button_text": params.get("ButtonText"), "opt_out": opt_out}
    meta.update({key: value for key, value in optional.items() if value})
    # Click-to-WhatsApp ads: ReferralSourceUrl, ReferralHeadline, ReferralBody, ReferralCtwaClid, ...
    # Every WhatsApp message carries ReferralNumMedia=0; only real referral data is worth keeping.
    referral = {key[len("Referral"):]: value for key, value in params.items()
                if key.startswith("Referral") and value and (key, value) != ("ReferralNumMedia", "0")}
    if referral:
        meta["referral"] = referral
    return meta


def _message(params: dict[str, str], sid: str, received_at: str, opt_out: str | None) -> InboundMessage:
    address_type, number = _split_address(params["From"])
    attachments = [*_media(params, address_type), *_location(params)]
    text = params.get("Body") or ""
    meta = _meta(params, address_type, opt_out)
    if not text and not attachments:
        kind = (params.get("MessageType") or "unknown").lower()
        text, meta["unsupported"] = f"unsupported message type: {kind}", kind
    return InboundMessage(
        source_id=number,
        external_id=sid,
        sent_at=received_at,  # Twilio's incoming-message webhook carries no timestamp
        profile=Profile(name=params.get("ProfileName") or None, phone=number if number.startswith("+") else None),
        text=text,
        attachments=tuple(attachments),
        reply_to_external_id=params.get("OriginalRepliedMessageSid") or None,
        meta=meta,
    )


def _button(params: dict[str, str], message: InboundMessage) -> list[InboundEvent]:
    # A WhatsApp quick-reply tap arrives as a message whose ButtonPayload is the data we gave the button.
    payload = params.get("ButtonPayload") or ""
    if not _CSAT_DATA.fullmatch(payload):
        return []
    return [ButtonPressed(source_id=message.source_id, event_id=message.external_id, data=payload,
                          at=message.sent_at, on_external_id=message.reply_to_external_id, profile=message.profile)]


def _reachability(opt_out: str | None, message: InboundMessage) -> list[InboundEvent]:
    if opt_out not in ("STOP", "START"):
        return []
    return [ReachabilityChanged(source_id=message.source_id, reachable=opt_out == "START", at=message.sent_at,
                                profile=message.profile)]


def _incoming(params: dict[str, str], sid: str, received_at: str) -> list[InboundEvent]:
    if not params.get("From"):
        raise BadRequest("Twilio webhook is malformed: 'From' is missing.")
    opt_out = _opt_out(params, _split_address(params["From"])[0])
    message = _message(params, sid, received_at, opt_out)
    # The STOP message itself is stored too: the conversation should show why the customer went quiet.
    return [message, *_button(params, message), *_reachability(opt_out, message)]


# --- status callbacks ------------------------------------------------------------------------------------------


def _failure_reason(params: dict[str, str], status: str) -> str:
    if status == "canceled":
        return "The message was canceled before it was sent."
    code = params.get("ErrorCode") or ""
    if code in _DELIVERY_ERRORS:
        return _DELIVERY_ERRORS[code]
    if code:
        described = params.get("ErrorMessage") or f"see https://www.twilio.com/docs/api/errors/{code}"
        return f"Twilio error {code} ({described})."
    return "Twilio could not deliver the message and gave no reason."


def _status_time(params: dict[str, str], received_at: str) -> str:
    """The carrier's RawDlrDoneDate (YYMMDDhhmm) when it is plausible, else our receipt time.

    Its time zone is the carrier's and undocumented; it is read as UTC and never allowed to lie in the future.
    """
    raw = params.get("RawDlrDoneDate") or ""
    try:
        done = datetime.strptime(raw, "%y%m%d%H%M").replace(tzinfo=UTC)
    except ValueError:
        return received_at
    return iso(done) if done <= parse_iso(received_at) else received_at


def _status(params: dict[str, str], sid: str, status: str, received_at: str) -> list[InboundEvent]:
    mapped = _STATUSES.get(status)
    if mapped is None:
        return []  # queued, accepted, scheduled, sending...: nothing the operator needs to see
    recipient = _split_address(params["To"])[1] if params.get("To") else None
    at = _status_time(params, received_at)
    receipt = DeliveryReceipt(external_id=sid, status=mapped, at=at, source_id=recipient,
                              reason=_failure_reason(params, status) if mapped == "failed" else None)
    if params.get("ErrorCode") == "21610" and recipient:
        # The recipient had texted STOP: nothing more will get through until they text START.
        return [receipt, ReachabilityChanged(source_id=recipient, reachable=False, at=at)]
    return [receipt]


# --- sending ---------------------------------------------------------------------------------------------------


def _basic_auth(account_sid: str, auth_token: str) -> str:
    return "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode("ascii")


def _sender(credentials: Credentials) -> tuple[str, str]:
    if credentials.extra.get("from"):
        return "From", str(credentials.extra["from"])
    if credentials.extra.get("messaging_service_sid"):
        return "MessagingServiceSid", str(credentials.extra["messaging_service_sid"])
    raise DeliveryFailed("This Twilio inbox has neither a sender number ('from') nor a Messaging Service configured.",
                         transient=False)


def _is_whatsapp(credentials: Credentials) -> bool:
    return (str(credentials.extra.get("from") or "").startswith("whatsapp:")
            or credentials.extra.get("address_type") == "whatsapp")


def _recipient(source_id: str, credentials: Credentials) -> str:
    # Identities are stored without the channel prefix; the inbox's sender decides which one to put back.
    if ":" in source_id:
        return source_id
    return f"whatsapp:{source_id}" if _is_whatsapp(credentials) else source_id


def render_buttons(text: str, buttons: tuple[tuple[str, str], ...]) -> str:
    """SMS has no buttons: list the choices as numbered lines the customer answers with a digit."""
    if not buttons:
        return text
    lines = "\n".join(f"{number} — {label}" for number, (label, _data) in enumerate(buttons, start=1))
    return f"{text}\n\n{lines}" if text else lines


def _send_form(message: OutboundMessage, credentials: Credentials) -> list[tuple[str, str]]:
    # A list of pairs, because MediaUrl is repeated once per attachment.
    form = [("To", _recipient(message.source_id, credentials)), _sender(credentials),
            ("Body", render_buttons(message.text, message.buttons))]
    form += [("MediaUrl", attachment.url) for attachment in message.attachments]
    if credentials.extra.get("status_callback_url"):
        form.append(("StatusCallback", str(credentials.extra["status_callback_url"])))
    return form


# error code → (operator-facing detail, customer unreachable) for refusals no retry can fix.
_SEND_ERRORS: dict[int, tuple[str, bool]] = {
    21610: ("The customer replied STOP and unsubscribed; they must text START before they can receive messages "
            "again.", True),
    21211: ("The customer's phone number is not a valid number.", False),
    21614: ("The customer's number is not a mobile number, so it cannot receive SMS.", False),
    21408: ("Sending to this country is not enabled for the Twilio account (Geo Permissions).", False),
    21617: (f"The message is too long for Twilio ({MAX_TEXT} characters at most).", False),
    20003: ("Twilio rejected the account credentials (check the inbox's Account SID and auth token).", False),
    20404: ("Twilio does not know this account or sender (check the inbox's Account SID and sender).", False),
    63016: ("Outside WhatsApp's 24-hour window: a template is needed.", False),
}


def _retry_after(headers: dict[str, str]) -> float | None:
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _failure(answer: http.HttpAnswer) -> DeliveryFailed:
    """Translate a Messages API error into something an operator can act on, and whether retrying can help."""
    body = answer.json()
    code = body.get("code") if isinstance(body.get("code"), int) else None
    description = str(body.get("message") or f"HTTP {answer.status}")
    if code == 20429 or answer.status == 429:
        return DeliveryFailed(f"Twilio is rate-limiting this account ({description}); the message will be retried.",
                              transient=True, retry_after=_retry_after(answer.headers))
    if answer.status >= 500:
        return DeliveryFailed(f"Twilio had a server error ({description}); the message will be retried.",
                              transient=True)
    if code in _SEND_ERRORS:
        detail, unreachable = _SEND_ERRORS[code]
        return DeliveryFailed(detail, transient=False, unreachable=unreachable)
    if answer.status == 401:
        return DeliveryFailed(_SEND_ERRORS[20003][0], transient=False)
    if answer.status < 400:
        return DeliveryFailed("Twilio sent an unreadable answer; the message may or may not have been sent.",
                              transient=False)
    return DeliveryFailed(f"Twilio refused the message: {description} (error {code}).", transient=False)


def _account(credentials: Credentials) -> tuple[str, str]:
    account_sid = str(credentials.extra.get("account_sid") or "")
    auth_token = str(credentials.extra.get("auth_token") or credentials.webhook_secret or "")
    if not account_sid or not auth_token:
        raise DeliveryFailed("This Twilio inbox has no Account SID or auth token configured.", transient=False)
    return account_sid, auth_token


def _media_authorization(ref: str, credentials: Credentials, api_base: str) -> str:
    """Basic auth for a MediaUrl, given only to Twilio's API: a URL anywhere else would receive the auth token."""
    if not media.host_allowed(ref, MEDIA_API_HOSTS, api_base):
        raise media.MediaRefused("The file's address is not on Twilio's API, so it was not downloaded (the account's "
                                 "credentials go nowhere else).")
    try:
        return _basic_auth(*_account(credentials))
    except DeliveryFailed as missing:
        raise media.MediaRefused(f"{missing} The file cannot be fetched without them.") from None


class TwilioChannel:
    name = "twilio"
    # The union of what SMS and WhatsApp can do: reads are reported for WhatsApp only (see capabilities_for).
    capabilities = Capabilities(can_edit=False, can_delete=False, read_receipts=True, buttons=0,
                                max_text_length=MAX_TEXT, reply_window_hours=None,
                                max_attachment_bytes=5 * 1024 * 1024,
                                account_per_second=1)  # a long code sends one message a second

    def capabilities_for(self, address: str) -> Capabilities:
        """What one sender or recipient can do: ``whatsapp:+1…`` (or just ``whatsapp``) versus a phone number."""
        return WHATSAPP_CAPABILITIES if address.split(":", 1)[0].lower() == "whatsapp" else SMS_CAPABILITIES

    def verify(self, request: WebhookRequest, credentials: Credentials) -> None:
        pairs = _form(request)
        if not credentials.webhook_secret:
            raise Unauthorized("This Twilio inbox has no auth token configured, so no request can be trusted.")
        supplied = request.headers.get(SIGNATURE_HEADER)
        if not supplied:
            raise Unauthorized("The request has no X-Twilio-Signature header.")
        # The URL configured in Twilio's console, when it differs from ours (a proxy, a vanity domain, a status URL).
        configured = credentials.extra.get("webhook_urls") or []
        urls = [request.public_url, *configured] if request.public_url else list(configured)
        if not urls:
            raise Unauthorized("The X-Twilio-Signature cannot be checked: the webhook's public URL is unknown.")
        expected = [signature(variant, pairs, credentials.webhook_secret)
                    for url in urls for variant in _url_variants(url)]
        if not any(hmac.compare_digest(candidate.encode(), supplied.encode()) for candidate in expected):
            raise Unauthorized("The X-Twilio-Signature does not match: the auth token is wrong, or the URL "
                               "configured in Twilio differs from the public webhook URL.")

    def handshake(self, request: WebhookRequest, credentials: Credentials) -> WebhookResponse | None:
        return None  # Twilio needs no verification round-trip

    def acknowledgement(self) -> WebhookResponse:
        """The answer to every accepted webhook: empty TwiML, so Twilio sends no automatic reply."""
        return ACK

    def parse(self, request: WebhookRequest, credentials: Credentials | None = None) -> list[InboundEvent]:
        params = _first_values(_form(request))
        sid = params.get("MessageSid") or params.get("SmsMessageSid") or params.get("SmsSid")
        if not sid:
            raise BadRequest("Twilio webhook is malformed: 'MessageSid' is missing.")
        status = (params.get("MessageStatus") or "").lower()
        if status and status not in _INBOUND_STATUSES:
            return _status(params, sid, status, request.received_at)
        return _incoming(params, sid, request.received_at)

    def send(self, message: OutboundMessage, credentials: Credentials, api_base: str) -> SendResult:
        """Create the message. Twilio has no idempotency key, so a retry after a lost answer may send it twice."""
        account_sid, auth_token = _account(credentials)
        form = _send_form(message, credentials)
        url = f"{api_base.rstrip('/')}/2010-04-01/Accounts/{urllib.parse.quote(account_sid)}/Messages.json"
        answer = http.call("POST", url, platform="Twilio", form=form,  # repeated keys (MediaUrl)
                           headers={"Authorization": _basic_auth(account_sid, auth_token)}, timeout=TIMEOUT_SECONDS)
        sid = answer.json().get("sid")
        if 200 <= answer.status < 300 and isinstance(sid, str) and sid:
            return SendResult(external_id=sid)
        raise _failure(answer)

    def download(self, ref: str, credentials: Credentials, api_base: str, max_bytes: int) -> media.Download:
        """Fetch a MediaUrl with the account's basic auth; Twilio answers with a redirect to its media CDN."""
        authorization = _media_authorization(ref, credentials, api_base)
        return media.fetch(ref, platform="Twilio", allowed_suffixes=MEDIA_HOSTS, api_base=api_base,
                           max_bytes=max_bytes, headers={"Authorization": authorization})
