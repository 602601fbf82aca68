"""Receiving a platform webhook: limits, inbox lookup, authenticity on the raw bytes, then ingest."""

from __future__ import annotations

import json

from ..channels import channel_for
from ..channels.api import inbound_message
from ..channels.base import WebhookRequest, WebhookResponse
from ..domain.errors import NotFound, PayloadTooLarge
from ..secrets import SecretStore
from ..store.contacts import ContactStore
from ..store.directory import DirectoryStore
from .api_keys import ApiCaller
from .ingest import IngestService
from .widget import WidgetService


class WebhookService:
    def __init__(self, directory: DirectoryStore, secrets: SecretStore, ingest: IngestService,
                 widget: WidgetService, max_body_bytes: int) -> None:
        self._directory = directory
        self._secrets = secrets
        self._ingest = ingest
        self._widget = widget
        self._max_body = max_body_bytes

    def receive(self, channel_name: str, inbox_id: str, request: WebhookRequest) -> WebhookResponse:
        if len(request.body) > self._max_body:
            raise PayloadTooLarge(f"The body is larger than {self._max_body} bytes.")
        inbox = self._directory.inbox(inbox_id)
        if inbox.channel != channel_name:
            raise NotFound("No such inbox.")  # never confirm that the id exists under another channel
        channel = channel_for(channel_name)
        credentials = self._secrets.credentials(inbox)
        if channel_name == "widget" and request.method == "GET":
            return self._widget.history(inbox, credentials, request.query)
        # Handshakes (Meta's GET challenge, VK's confirmation, SNS subscriptions, widget sessions) authenticate
        # themselves as their platform prescribes; everything else is verified on the raw bytes before parsing.
        answer = channel.handshake(request, credentials)
        if answer is not None:
            return answer
        channel.verify(request, credentials)
        events = channel.parse(request, credentials)
        result = self._ingest.handle(inbox, events, request.received_at)
        acknowledgement = getattr(channel, "acknowledgement", None)
        if acknowledgement is not None:  # some platforms expect an exact answer (VK: the text "ok")
            return acknowledgement()
        answer = {"ok": True, "stored": result.stored}
        if result.hidden:  # a blocked contact: kept, and the widget hides itself on reading this
            answer["hidden"] = True
        return WebhookResponse(status=200, body=json.dumps(answer))


class ApiInboundService:
    """Messages a tenant's own system posts for its customers (the API channel)."""

    def __init__(self, directory: DirectoryStore, ingest: IngestService, contacts: ContactStore) -> None:
        self._directory = directory
        self._ingest = ingest
        self._contacts = contacts

    def post(self, caller: ApiCaller, inbox_id: str, body: object, received_at: str) -> dict:
        caller.require("messages:write")
        inbox = self._directory.inbox(inbox_id)
        if inbox.tenant_id != caller.tenant_id or inbox.channel != "api":
            raise NotFound("No such API inbox.")  # never confirm another tenant's inbox exists
        event = inbound_message(body, received_at)
        result = self._ingest.handle(inbox, [event], received_at)
        identity = self._contacts.identity(inbox.tenant_id, inbox.id, event.source_id)
        return {"stored": bool(result.stored), "duplicate": bool(result.duplicates),
                "conversation_id": identity.open_conversation_id if identity and not identity.blocked else None}
