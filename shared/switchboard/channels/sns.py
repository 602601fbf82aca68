"""Amazon SNS over HTTPS: decoding the JSON envelope and verifying its RSA signature with the certificate SNS names,
which is fetched only from an SNS host."""

from __future__ import annotations

import base64
import binascii
import re
import urllib.parse
from collections.abc import Callable

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ..domain.errors import DeliveryFailed, Unauthorized
from . import http
from .base import json_object

# sns.<region>.amazonaws.com, and the China partition's amazonaws.com.cn. Anything else (look-alike hosts, userinfo
# tricks, other ports) is refused before a single byte is fetched: the URL comes from the unauthenticated body.
_SNS_HOST = re.compile(r"sns\.[a-z]{2}(-[a-z]+)+-\d\.amazonaws\.com(\.cn)?")
_FETCH_TIMEOUT_SECONDS = 5
_MAX_CERTIFICATE_BYTES = 64 * 1024
_MAX_CACHED_CERTIFICATES = 16

# Which fields are signed, in this order, depends on the message type (SNS developer guide, "Verifying the
# signatures of Amazon SNS messages"). Optional fields (Subject) are skipped when absent, never sent as empty.
_NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_CONFIRMATION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
_SIGNED_FIELDS = {
    "Notification": _NOTIFICATION_FIELDS,
    "SubscriptionConfirmation": _CONFIRMATION_FIELDS,
    "UnsubscribeConfirmation": _CONFIRMATION_FIELDS,
}
_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}

# Certificates rarely change and every notification names one: without a cache each webhook would cost a fetch.
# Bounded, oldest first out, so a stream of distinct (valid) URLs cannot grow a warm Lambda without limit.
_CERTIFICATES: dict[str, bytes] = {}


def is_sns_url(url: object) -> bool:
    """True for an https URL on an SNS endpoint host (default port, no user info)."""
    if not isinstance(url, str):
        return False
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = parts.hostname or ""
    return (parts.scheme == "https" and port in (None, 443) and not parts.username and parts.password is None
            and _SNS_HOST.fullmatch(host) is not None)


def decode(body: bytes) -> dict:
    """The SNS envelope as a dict; SNS posts it as text/plain, but it is always a JSON object."""
    return json_object(body, "The SNS message")


def string_to_sign(envelope: dict) -> bytes:
    """The canonical ``Name\\nvalue\\n`` string SNS signed; raises ``Unauthorized`` for unknown message types."""
    kind = envelope.get("Type")
    fields = _SIGNED_FIELDS.get(kind) if isinstance(kind, str) else None
    if fields is None:
        raise Unauthorized(f"Unknown SNS message type {envelope.get('Type')!r}; nothing to verify it against.")
    parts = []
    for name in fields:
        value = envelope.get(name)
        if value is None:
            if name == "Subject":
                continue
            raise Unauthorized(f"The SNS message has no {name}, which its signature must cover.")
        if not isinstance(value, str):
            raise Unauthorized(f"The SNS message's {name} is not a string.")
        parts.append(f"{name}\n{value}\n")
    return "".join(parts).encode("utf-8")


def _signature(envelope: dict) -> tuple[bytes, hashes.HashAlgorithm]:
    version = envelope.get("SignatureVersion")
    algorithm = _HASHES.get(version) if isinstance(version, str) else None
    if algorithm is None:
        raise Unauthorized(f"Unsupported SNS SignatureVersion {version!r} (only 1 and 2 exist).")
    try:
        signature = base64.b64decode(envelope.get("Signature") or "", validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise Unauthorized("The SNS Signature is not valid base64.") from None
    if not signature:
        raise Unauthorized("The SNS message is not signed.")
    return signature, algorithm()


def _public_key(pem: bytes) -> rsa.RSAPublicKey:
    try:
        key = x509.load_pem_x509_certificate(pem).public_key()
    except ValueError:
        raise Unauthorized("The SNS signing certificate could not be read.") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise Unauthorized("The SNS signing certificate does not hold an RSA key.")
    return key


def verify(envelope: dict, fetch_certificate: Callable[[str], bytes]) -> None:
    """Raise ``Unauthorized`` unless SNS signed ``envelope``.

    The certificate URL is checked before anything is fetched, so a forged message cannot make us call out anywhere.
    """
    url = envelope.get("SigningCertURL")
    if not is_sns_url(url):
        raise Unauthorized("The SNS SigningCertURL is not an https URL on an SNS host; refusing to fetch it.")
    canonical = string_to_sign(envelope)
    signature, algorithm = _signature(envelope)
    key = _public_key(fetch_certificate(url))  # type: ignore[arg-type]
    try:
        key.verify(signature, canonical, padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        raise Unauthorized("The SNS signature does not match the message.") from None


# --- defaults that reach the network ----------------------------------------------------------------------------


def cached_certificate(url: str, download: Callable[[str], bytes]) -> bytes:
    """``download(url)`` once per URL for the life of the process (failures are not cached)."""
    cached = _CERTIFICATES.get(url)
    if cached is not None:
        return cached
    pem = download(url)
    while len(_CERTIFICATES) >= _MAX_CACHED_CERTIFICATES:
        del _CERTIFICATES[next(iter(_CERTIFICATES))]
    _CERTIFICATES[url] = pem
    return pem


def _download_certificate(url: str) -> bytes:
    if not is_sns_url(url):  # the caller checked already; a default that can reach the network checks again
        raise Unauthorized("Refusing to fetch a signing certificate from outside SNS.")
    answer = http.call("GET", url, platform="Amazon SNS", timeout=_FETCH_TIMEOUT_SECONDS)
    if answer.status >= 500:
        raise DeliveryFailed(f"SNS answered HTTP {answer.status} for its signing certificate.", transient=True)
    if answer.status != 200 or len(answer.body) > _MAX_CERTIFICATE_BYTES:
        raise Unauthorized(f"SNS has no signing certificate at that URL (HTTP {answer.status}).")
    return answer.body


def fetch_certificate(url: str) -> bytes:
    """The PEM at ``url`` (an SNS host only), cached in-process. Network trouble raises a transient error."""
    return cached_certificate(url, _download_certificate)


def confirm_subscription(url: str) -> None:
    """Visit the SubscribeURL of a SubscriptionConfirmation, which is how an HTTPS endpoint accepts a topic."""
    if not is_sns_url(url):
        raise Unauthorized("The SubscribeURL is not on an SNS host; refusing to visit it.")
    answer = http.call("GET", url, platform="Amazon SNS", timeout=_FETCH_TIMEOUT_SECONDS)
    if answer.status != 200:
        # SNS resends the confirmation when we answer 5xx, so a refusal here is worth another try.
        raise DeliveryFailed(f"SNS did not confirm the subscription (HTTP {answer.status}).", transient=True)
