"""What every channel adapter provides, and the plain request/response shapes they work on."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..domain.errors import BadRequest
from ..domain.inbound import InboundEvent


def json_object(body: bytes, what: str, shape: str = "") -> dict[str, Any]:
    """``body`` parsed as a JSON object, or ``BadRequest`` naming ``what`` it should have been (and ``shape``,
    a fuller description of the object expected, when there is one)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest(f"{what} is not valid JSON: {error}.") from None
    if not isinstance(data, dict):
        raise BadRequest(shape or f"{what} must be a JSON object.")
    return data


@dataclass(frozen=True)
class WebhookRequest:
    method: str
    headers: dict[str, str]  # lower-cased names
    query: dict[str, str]
    body: bytes
    received_at: str  # ISO-8601, injected so parsing is deterministic in tests
    public_url: str = ""  # the URL the platform called (some signatures cover it)


@dataclass(frozen=True)
class WebhookResponse:
    status: int = 200
    body: str = ""
    content_type: str = "application/json"


@dataclass(frozen=True)
class Credentials:
    """Per-inbox secrets, read from the secret store (never from the directory item)."""

    webhook_secret: str
    token: str | None = None
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class OutboundAttachment:
    kind: str  # image | video | audio | file
    url: str  # a pre-signed URL the platform (or the adapter) can download
    name: str | None = None
    mime: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class OutboundMessage:
    source_id: str  # recipient identity within the inbox
    text: str
    message_id: str
    reply_to_external_id: str | None = None
    buttons: tuple[tuple[str, str], ...] = ()  # (label, data): rendered natively (keyboards, quick replies, links)
    attachments: tuple[OutboundAttachment, ...] = ()
    subject: str | None = None  # e-mail
    thread_keys: tuple[str, ...] = ()  # e-mail: Message-IDs to put in In-Reply-To / References


@dataclass(frozen=True)
class Capabilities:
    """What a channel can do, as data, so the client can be honest about what will happen."""

    can_edit: bool = False
    can_delete: bool = False
    read_receipts: bool = False
    buttons: int = 0  # how many quick-reply/inline buttons one message may carry (0: rendered as text)
    max_text_length: int = 4096
    reply_window_hours: int | None = None  # e.g. WhatsApp's 24-hour customer service window
    attachments: bool = True
    max_attachment_bytes: int = 16 * 1024 * 1024
    # The platform's send limits: seconds between two messages to one chat, messages per second per account.
    chat_interval_seconds: float = 0.0
    account_per_second: int = 0

    def to_dict(self) -> dict:
        return {
            "can_edit": self.can_edit, "can_delete": self.can_delete, "read_receipts": self.read_receipts,
            "buttons": self.buttons, "max_text_length": self.max_text_length,
            "reply_window_hours": self.reply_window_hours, "attachments": self.attachments,
            "max_attachment_bytes": self.max_attachment_bytes,
            "chat_interval_seconds": self.chat_interval_seconds, "account_per_second": self.account_per_second,
        }


@dataclass(frozen=True)
class SendResult:
    external_id: str | None


class Channel(Protocol):
    name: str
    capabilities: Capabilities

    def verify(self, request: WebhookRequest, credentials: Credentials) -> None:
        """Raise ``Unauthorized`` unless the request is authentic. Runs on raw bytes, before parsing."""

    def handshake(self, request: WebhookRequest, credentials: Credentials) -> WebhookResponse | None:
        """Answer a platform's verification request (GET challenges), or None if this is not one."""

    def parse(self, request: WebhookRequest, credentials: Credentials | None = None) -> list[InboundEvent]:
        """Normalize the body. Raise ``BadRequest`` if it is not well-formed; return [] for events we ignore.

        ``credentials`` lets a channel keep out what belongs to another account of the same app (one Meta app may
        serve many pages and numbers: the signature proves the sender, not the inbox).
        """

    def send(self, message: OutboundMessage, credentials: Credentials, api_base: str) -> SendResult:
        """Deliver a reply; raise ``DeliveryFailed`` (transient or not) when the platform refuses."""
