"""The website chat widget: visitors get a signed visitor token, write over HTTPS, and read replies on a socket."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from ..domain.errors import BadRequest, Unauthorized
from ..domain.ids import ulid
from ..domain.inbound import InboundEvent, InboundMessage, Profile
from .base import (
    Capabilities,
    Credentials,
    OutboundMessage,
    SendResult,
    WebhookRequest,
    WebhookResponse,
    json_object,
)

MAX_TEXT = 10_000


def visitor_token(credentials: Credentials, visitor_id: str) -> str:
    return hmac.new(credentials.webhook_secret.encode(), visitor_id.encode(), hashlib.sha256).hexdigest()


def check_visitor(credentials: Credentials, visitor_id: object, token: object) -> str:
    """The visitor id, if ``token`` proves this inbox issued it."""
    if not isinstance(visitor_id, str) or not isinstance(token, str) or not visitor_id or not token:
        raise Unauthorized("The widget session is missing; reload the page.")
    if not hmac.compare_digest(visitor_token(credentials, visitor_id), token):
        raise Unauthorized("The widget session is not valid; reload the page.")
    return visitor_id


class WidgetChannel:
    name = "widget"
    capabilities = Capabilities(can_edit=False, can_delete=False, read_receipts=False, buttons=3,
                                max_text_length=MAX_TEXT, max_attachment_bytes=10 * 1024 * 1024)

    def body(self, request: WebhookRequest) -> dict[str, Any]:
        return json_object(request.body or b"{}", "The body")

    def verify(self, request: WebhookRequest, credentials: Credentials) -> None:
        data = self.body(request)
        if data.get("type") == "session":
            return  # anyone may start a session; it grants only their own, new visitor id
        check_visitor(credentials, data.get("visitor_id"), data.get("visitor_token"))

    def handshake(self, request: WebhookRequest, credentials: Credentials) -> WebhookResponse | None:
        data = self.body(request)
        if data.get("type") != "session":
            return None
        visitor_id = ulid()
        body = {"visitor_id": visitor_id, "visitor_token": visitor_token(credentials, visitor_id)}
        return WebhookResponse(status=200, body=json.dumps(body))

    def parse(self, request: WebhookRequest, credentials: Credentials | None = None) -> list[InboundEvent]:
        data = self.body(request)
        if data.get("type") != "message":
            raise BadRequest("Unknown widget request type; expected 'session' or 'message'.")
        text, client_id = data.get("text"), data.get("client_id")
        if not isinstance(text, str) or not text.strip():
            raise BadRequest("The message text must not be empty.")
        if len(text) > MAX_TEXT:
            raise BadRequest(f"The message is too long (limit {MAX_TEXT} characters).")
        if not isinstance(client_id, str) or not 1 <= len(client_id) <= 64:
            raise BadRequest("Each widget message needs a client_id (1–64 characters).")
        visitor_id = str(data["visitor_id"])
        profile = Profile(name=_text(data.get("name")) or "Website visitor", email=_text(data.get("email")))
        meta = {"page_url": page} if (page := _text(data.get("page_url"))) else {}
        return [InboundMessage(
            source_id=visitor_id, external_id=f"{visitor_id}:{client_id}", sent_at=request.received_at,
            profile=profile, text=text, meta=meta,
        )]

    def send(self, message: OutboundMessage, credentials: Credentials, api_base: str) -> SendResult:
        raise NotImplementedError("Widget replies travel over the visitor's WebSocket (services.delivery).")


def _text(value: object, limit: int = 500) -> str | None:
    return value.strip()[:limit] or None if isinstance(value, str) else None
