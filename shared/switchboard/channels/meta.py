"""What Meta's WhatsApp, Messenger and Instagram adapters share: webhook authentication (X-Hub-Signature-256 over the
raw body, the hub.challenge subscription GET), body decoding, timestamps, and Graph API sends with readable errors."""

from __future__ import annotations

import hashlib
import hmac
import json
import posixpath
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from ..domain.clock import from_unix, iso
from ..domain.csat import parse_csat
from ..domain.errors import BadRequest, DeliveryFailed, Unauthorized
from . import http, media
from .base import Credentials, WebhookRequest, WebhookResponse, json_object

SIGNATURE_HEADER = "x-hub-signature-256"
TIMEOUT_SECONDS = 10

_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
# Where Messenger and Instagram attachment URLs point: Meta's CDNs and the lookaside host that signs them.
CDN_HOSTS = ("fbcdn.net", "fbsbx.com", "cdninstagram.com", "facebook.com", "instagram.com")


# --- authenticity ----------------------------------------------------------------------------------------------


def verify_signature(request: WebhookRequest, app_secret: str) -> None:
    """Raise ``Unauthorized`` unless X-Hub-Signature-256 is the app secret's HMAC-SHA256 of the body bytes as received.

    Never verify a re-serialized body: Meta escapes non-ASCII as \\uXXXX and '/' as '\\/', which json.dumps would not
    reproduce, so the HMAC would no longer match.
    """
    if not app_secret:
        raise Unauthorized("This inbox has no Meta app secret configured, so no request can be trusted.")
    supplied = request.headers.get(SIGNATURE_HEADER)
    if supplied is None:
        raise Unauthorized("The request has no X-Hub-Signature-256 header.")
    match = _SIGNATURE.fullmatch(supplied.strip())
    if not match:
        raise Unauthorized("The X-Hub-Signature-256 header is malformed (expected sha256=<64 hex digits>).")
    expected = hmac.new(app_secret.encode("utf-8"), request.body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, match.group(1).lower()):
        raise Unauthorized("The X-Hub-Signature-256 header does not match the body signed with this app's secret.")


def verify_subscription(request: WebhookRequest, verify_token: str) -> WebhookResponse:
    """Answer Meta's ``GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`` with the challenge, verbatim."""
    query = request.query
    if request.method != "GET" or query.get("hub.mode") != "subscribe" or "hub.challenge" not in query:
        raise BadRequest("Not a webhook subscription request: expected GET with hub.mode=subscribe, "
                         "hub.verify_token and hub.challenge.")
    if not verify_token:
        raise Unauthorized("This inbox has no verify token configured, so the subscription cannot be confirmed.")
    supplied = query.get("hub.verify_token", "")
    if not hmac.compare_digest(supplied.encode("utf-8"), verify_token.encode("utf-8")):
        raise Unauthorized("hub.verify_token does not match this inbox's verify token.")
    return WebhookResponse(status=200, body=query["hub.challenge"], content_type="text/plain")


def handshake(request: WebhookRequest, credentials: Credentials) -> WebhookResponse | None:
    """Every GET Meta sends is a subscription check; POSTs are events."""
    if request.method != "GET":
        return None
    return verify_subscription(request, str(credentials.extra.get("verify_token") or ""))


# --- decoding --------------------------------------------------------------------------------------------------


def decode(body: bytes) -> dict:
    """The webhook envelope, checked only as far as every Meta product shares it: ``object`` and ``entry``."""
    shape = "The body must be an object with `object` and `entry`."
    document = json_object(body, "The body", shape)
    if not isinstance(document.get("object"), str) or not isinstance(document.get("entry"), list):
        raise BadRequest(shape)
    return document


def objects(items: Any) -> list[dict]:
    """The dict members of a list, so one malformed element never hides its well-formed siblings."""
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def pick(obj: dict, *keys: str) -> dict:
    """The listed fields that are present, so meta never carries a pile of nulls."""
    return {key: obj[key] for key in keys if obj.get(key) not in (None, "", [], {})}


def required_id(obj: dict, key: str, where: str) -> str:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise BadRequest(f"The webhook is malformed: '{where}.{key}' is missing.")
    return str(value)


def from_seconds(value: Any, fallback: str) -> str:
    """WhatsApp's timestamps: Unix seconds, sent as a string."""
    if isinstance(value, str) and value.isdigit():
        return iso(from_unix(int(value)))
    if isinstance(value, int) and not isinstance(value, bool):
        return iso(from_unix(value))
    return fallback


def from_millis(value: Any, fallback: str) -> str:
    """Messenger's and Instagram's timestamps: Unix milliseconds, converted without float rounding."""
    if isinstance(value, bool) or not isinstance(value, int):
        return fallback
    whole, millis = divmod(value, 1000)
    return iso(datetime.fromtimestamp(whole, tz=UTC).replace(microsecond=millis * 1000))


def is_csat(data: str) -> bool:
    return parse_csat(data) is not None


# --- sending ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """What one Graph error means for the operator. ``detail`` may use {details}, the platform's own explanation."""

    detail: str
    transient: bool = False
    unreachable: bool = False


Rules = Mapping[tuple[int, int | None], Rule]

# Graph-wide codes every product answers with the same meaning; per-platform tables take precedence.
_SHARED: dict[tuple[int, int | None], Rule] = {
    (1, None): Rule("{platform} had a temporary problem ({details}); the message will be retried.", transient=True),
    (2, None): Rule("{platform} is temporarily unavailable ({details}); the message will be retried.", transient=True),
    (4, None): Rule("{platform} is rate-limiting this app; the message will be retried.", transient=True),
    (17, None): Rule("{platform} is rate-limiting this account; the message will be retried.", transient=True),
    (32, None): Rule("{platform} is rate-limiting this account; the message will be retried.", transient=True),
    (613, None): Rule("{platform} is rate-limiting these sends; the message will be retried.", transient=True),
    (80007, None): Rule("{platform} is rate-limiting this business account; the message will be retried.",
                        transient=True),
    (100, None): Rule("{platform} rejected a parameter of the message: {details}"),
    (190, None): Rule("The {platform} access token has expired or was revoked; reconnect the account in the inbox "
                      "settings."),
    (200, None): Rule("This app lacks the permission to send {platform} messages for this account ({details})."),
    (10, None): Rule("This app lacks the permission to send this {platform} message ({details})."),
}


@dataclass(frozen=True)
class GraphError:
    status: int
    code: int | None
    subcode: int | None
    details: str
    is_transient: bool

    @classmethod
    def read(cls, answer: http.HttpAnswer) -> GraphError:
        error = answer.json().get("error")
        error = error if isinstance(error, dict) else {}
        data = error.get("error_data")
        # WhatsApp puts the useful sentence in error_data.details; Messenger only has message.
        details = data.get("details") if isinstance(data, dict) else None
        return cls(
            status=answer.status,
            code=_integer(error.get("code")),
            subcode=_integer(error.get("error_subcode")),
            details=str(details or error.get("message") or f"HTTP {answer.status}"),
            is_transient=error.get("is_transient") is True,
        )


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else None


def rule_for(code: int | None, subcode: int | None, rules: Rules) -> Rule | None:
    if code is None:
        return None
    for key in ((code, subcode), (code, None)):
        if key in rules:
            return rules[key]
    return _SHARED.get((code, subcode)) or _SHARED.get((code, None))


def reason(platform: str, code: int | None, subcode: int | None, details: str, rules: Rules) -> str:
    """The operator-facing sentence for a Graph error code (also used for WhatsApp's failed-status webhooks)."""
    rule = rule_for(code, subcode, rules)
    if rule is None:
        suffix = f" (code {code})" if code is not None else ""
        return f"{platform} refused the message: {details}{suffix}"
    return rule.detail.format(platform=platform, details=details)


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((value for key, value in headers.items() if key.lower() == name), None)


def retry_after(headers: dict[str, str]) -> float | None:
    """Seconds to wait, from Retry-After or the Business Use Case header's ``estimated_time_to_regain_access`` (min)."""
    plain = _header(headers, "retry-after")
    if plain and plain.strip().isdigit():
        return float(plain.strip())
    try:
        usage = json.loads(_header(headers, "x-business-use-case-usage") or "{}")
    except ValueError:
        return None
    minutes = [
        entry.get("estimated_time_to_regain_access")
        for entries in (usage.values() if isinstance(usage, dict) else [])
        for entry in objects(entries)
    ]
    waits = [m for m in minutes if isinstance(m, int | float) and not isinstance(m, bool) and m > 0]
    return float(max(waits) * 60) if waits else None


def failure(platform: str, answer: http.HttpAnswer, rules: Rules) -> DeliveryFailed:
    """Translate a Graph error into something an operator can act on, and whether retrying can help."""
    error = GraphError.read(answer)
    rule = rule_for(error.code, error.subcode, rules)
    if rule is not None:
        wait = retry_after(answer.headers) if rule.transient else None
        detail = rule.detail.format(platform=platform, details=error.details)
        return DeliveryFailed(detail, transient=rule.transient, retry_after=wait, unreachable=rule.unreachable)
    if answer.status >= 500 or answer.status == 429 or error.is_transient:
        return DeliveryFailed(f"{platform} had a server error ({error.details}); the message will be retried.",
                              transient=True, retry_after=retry_after(answer.headers))
    return DeliveryFailed(reason(platform, error.code, error.subcode, error.details, rules), transient=False)


def post(url: str, payload: dict, credentials: Credentials, platform: str, rules: Rules) -> dict:
    """POST one Graph API call with the token as a Bearer header (never in the URL) and return its JSON answer."""
    if not credentials.token:
        raise DeliveryFailed(f"This {platform} inbox has no access token configured.", transient=False)
    answer = http.call("POST", url, platform=platform, json_body=payload, timeout=TIMEOUT_SECONDS,
                       headers={"Authorization": f"Bearer {credentials.token}"})
    body = answer.json()
    if 200 <= answer.status < 300 and "error" not in body:
        if not body:
            raise DeliveryFailed(f"{platform} sent an unreadable answer; the message may or may not have been "
                                 "delivered.", transient=False)
        return body
    raise failure(platform, answer, rules)


# --- downloading customers' files ------------------------------------------------------------------------------


def _name_in(url: str) -> str | None:
    """The file name at the end of a CDN path (``…/file/Invoice.pdf?…``), when there is one with an extension."""
    name = posixpath.basename(urllib.parse.unquote(urllib.parse.urlsplit(url).path))
    return name if "." in name.strip(".") else None


def download_attachment(url: str, platform: str, api_base: str, max_bytes: int) -> media.Download:
    """A Messenger or Instagram attachment, fetched from the signed CDN URL its webhook carried (no token needed)."""
    file = media.fetch(url, platform=platform, allowed_suffixes=CDN_HOSTS, api_base=api_base, max_bytes=max_bytes)
    return file if file.name else replace(file, name=_name_in(url))


def profile(user_id: str, fields: str, credentials: Credentials, api_base: str) -> dict:
    """The User Profile API (``GET /{PSID or IGSID}?fields=…``): Messenger and Instagram send no names themselves.
    Raises ``DeliveryFailed`` (transient for 5xx and rate limits) when the Graph API will not say."""
    if not credentials.token or not user_id.isalnum():
        raise DeliveryFailed("No profile can be looked up for this customer.", transient=False)
    url = f"{api_base.rstrip('/')}/{user_id}?fields={fields}"
    answer = http.call("GET", url, platform="Meta", headers={"Authorization": f"Bearer {credentials.token}"},
                       timeout=TIMEOUT_SECONDS)
    if answer.status != 200:
        transient = answer.status >= 500 or answer.status == 429
        raise DeliveryFailed(f"Meta did not share the customer's profile (HTTP {answer.status}).", transient=transient)
    return answer.json()
