"""Receiving a platform webhook: limits, inbox lookup, authenticity on the raw bytes, then ingest."""

from __future__ import annotations

import json

from ..channels import channel_for
from ..channels.base import WebhookRequest, WebhookResponse
from ..domain.errors import NotFound, PayloadTooLarge
from ..secrets import SecretStore
from ..store.directory import DirectoryStore
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
        return WebhookResponse(status=200, body=json.dumps({"ok": True, "stored": result.stored}))
