"""The one normalized shape every channel parses its webhooks into."""

from __future__ import annotations

from dataclasses import dataclass, field

from .message import Attachment


@dataclass(frozen=True)
class Profile:
    """What the platform tells us about the person behind an identity."""

    name: str | None = None
    username: str | None = None
    phone: str | None = None
    email: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class InboundMessage:
    """A new message from a customer (or, for echoes, from the business's own app)."""

    source_id: str  # the identity within the inbox (e.g. a Telegram chat id)
    external_id: str  # the platform's message id, unique within the inbox
    sent_at: str
    profile: Profile = Profile()
    text: str = ""
    attachments: tuple[Attachment, ...] = ()
    reply_to_external_id: str | None = None
    forwarded_from: str | None = None
    author_name: str | None = None  # the member who wrote, in group chats
    edited_at: str | None = None  # set when the first thing we see of a message is its edit
    echo: bool = False  # sent by the business from the platform's own app: stored as outgoing, never as incoming
    thread_keys: tuple[str, ...] = ()  # e-mail: Message-IDs this message answers (In-Reply-To, References)
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class MessageEdited:
    source_id: str
    external_id: str
    edited_at: str
    profile: Profile = Profile()
    text: str = ""
    attachments: tuple[Attachment, ...] = ()
    sent_at: str | None = None

    def as_new_message(self) -> InboundMessage:
        """An edit whose original never arrived is stored as the message itself, marked edited."""
        return InboundMessage(
            source_id=self.source_id,
            external_id=self.external_id,
            sent_at=self.sent_at or self.edited_at,
            profile=self.profile,
            text=self.text,
            attachments=self.attachments,
            edited_at=self.edited_at,
        )


@dataclass(frozen=True)
class ButtonPressed:
    """A tap on an inline button we sent (e.g. the CSAT prompt). Not a chat message."""

    source_id: str
    event_id: str  # idempotency key, e.g. Telegram's callback_query id
    data: str
    at: str
    on_external_id: str | None = None
    profile: Profile = Profile()


@dataclass(frozen=True)
class ReachabilityChanged:
    """The customer blocked (or unblocked) the business on the platform."""

    source_id: str
    reachable: bool
    at: str
    profile: Profile = Profile()


@dataclass(frozen=True)
class MessageDeleted:
    """The customer deleted (unsent) a message on the platform."""

    source_id: str
    external_id: str
    at: str


# A receipt's external id for "everything up to this time" (Messenger and Instagram name no message when read).
WATERMARK_PREFIX = "*before:"


@dataclass(frozen=True)
class DeliveryReceipt:
    """The platform's news about one of our outgoing messages: sent, delivered, read or failed (with why)."""

    external_id: str
    status: str  # "sent" | "delivered" | "read" | "failed"
    at: str
    source_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class ReactionChanged:
    """A reaction (emoji) on a message was added, or removed when ``emoji`` is None."""

    source_id: str
    external_id: str  # the message reacted to
    emoji: str | None
    at: str
    event_id: str = ""


InboundEvent = (
    InboundMessage | MessageEdited | ButtonPressed | ReachabilityChanged | MessageDeleted | DeliveryReceipt
    | ReactionChanged
)
