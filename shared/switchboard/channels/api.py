"""The generic API channel: a tenant's own system posts customer messages to /v1/inboxes/{id}/messages and
receives our replies on its webhook URL, signed with the inbox's secret and a timestamp."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from ..domain.errors import BadRequest, DeliveryFailed
from ..domain.inbound import InboundEvent, InboundMessage, Profile
from . import http
from .base import Capabilities, Credentials, OutboundMessage, SendResult, WebhookRequest, WebhookResponse

SIGNATURE_HEADER = "X-Switchboard-Signature"
MAX_TEXT = 20_000


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``: the receiver checks both and rejects old ones."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def inbound_message(data: object, received_at: str) -> InboundMessage:
    """A message a tenant's system posts for one of its customers; its own id makes retries safe."""
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.")
    contact, text, external_id = data.get("contact"), data.get("text"), data.get("external_id")
    if not isinstance(contact, dict) or not isinstance(contact.get("id"), str) or not contact["id"]:
        raise BadRequest("Give contact.id: your system's id for the customer.")
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("The message text must not be empty.")
    if len(text) > MAX_TEXT:
        raise BadRequest(f"The message is too long ({len(text)} characters; the limit is {MAX_TEXT}).")
    if not isinstance(external_id, str) or not 1 <= len(external_id) <= 200:
        raise BadRequest("Give external_id (1–200 characters): your id for this message, so a retry is stored once.")
    profile = Profile(**{key: contact[key] for key in ("name", "email", "phone", "language")
                         if isinstance(contact.get(key), str)})
    return InboundMessage(source_id=contact["id"][:200], external_id=external_id, sent_at=received_at,
                          profile=profile, text=text, meta={"api": True})


class ApiChannel:
    name = "api"
    capabilities = Capabilities(can_edit=False, can_delete=False, read_receipts=False, buttons=3,
                                max_text_length=MAX_TEXT)

    def verify(self, request: WebhookRequest, credentials: Credentials) -> None:
        raise BadRequest("API inboxes receive messages at POST /v1/inboxes/{inbox_id}/messages with an API key.")

    def handshake(self, request: WebhookRequest, credentials: Credentials) -> WebhookResponse | None:
        return None

    def parse(self, request: WebhookRequest, credentials: Credentials | None = None) -> list[InboundEvent]:
        return []

    def send(self, message: OutboundMessage, credentials: Credentials, api_base: str) -> SendResult:
        """POST the reply to the tenant's webhook URL; 2xx is delivered, 5xx and timeouts are retried."""
        url = credentials.extra.get("webhook_url")
        if not url:
            raise DeliveryFailed("This API inbox has no webhook URL to deliver replies to.", transient=False)
        body = json.dumps({
            "type": "message.created", "message_id": message.message_id, "contact_id": message.source_id,
            "text": message.text, "reply_to": message.reply_to_external_id,
            "buttons": [{"label": label, "data": data} for label, data in message.buttons],
        }).encode()
        headers = {"Content-Type": "application/json",
                   SIGNATURE_HEADER: sign(credentials.webhook_secret, int(time.time()), body)}
        answer = http.call("POST", url, platform="The tenant's webhook", headers=headers, raw_body=body)
        if 200 <= answer.status < 300:
            return SendResult(external_id=message.message_id)
        reason = answer.body[:200].decode("utf-8", "replace")
        transient = answer.status >= 500 or answer.status == 429
        raise DeliveryFailed(f"The tenant's webhook answered HTTP {answer.status}: {reason}", transient=transient)
