"""Messages, attachments and the delivery status that only ever moves forward."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class MessageType(StrEnum):
    INCOMING = "incoming"
    OUTGOING = "outgoing"
    NOTE = "note"
    ACTIVITY = "activity"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


_RANK = {DeliveryStatus.PENDING: 0, DeliveryStatus.SENT: 1, DeliveryStatus.DELIVERED: 2, DeliveryStatus.READ: 3}


def advances(current: DeliveryStatus, new: DeliveryStatus) -> bool:
    """True when ``new`` is a step forward: statuses never move backwards, and ``failed`` is final.

    A message can fail only before the platform confirmed delivery; a late ``sent`` never undoes ``read``.
    """
    if current is DeliveryStatus.FAILED:
        return False
    if new is DeliveryStatus.FAILED:
        return current in (DeliveryStatus.PENDING, DeliveryStatus.SENT)
    return _RANK[new] > _RANK[current]


def earlier_statuses(new: DeliveryStatus) -> list[DeliveryStatus]:
    """The statuses a message may be in for ``new`` to apply (the conditional write's guard)."""
    return [status for status in DeliveryStatus if advances(status, new)]


class AttachmentKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    VOICE = "voice"
    FILE = "file"
    STICKER = "sticker"
    LOCATION = "location"
    CONTACT = "contact"


def kind_for_mime(mime: str | None) -> AttachmentKind:
    family = (mime or "").split("/", 1)[0]
    return {"image": AttachmentKind.IMAGE, "video": AttachmentKind.VIDEO,
            "audio": AttachmentKind.AUDIO}.get(family, AttachmentKind.FILE)


@dataclass(frozen=True)
class Attachment:
    kind: AttachmentKind
    ref: str | None = None  # the platform's file id; downloaded later, never inside the webhook
    name: str | None = None
    mime: str | None = None
    size: int | None = None
    meta: dict = field(default_factory=dict)  # width/height, duration, latitude/longitude, phone, ...

    def to_dict(self) -> dict:
        data = {"kind": str(self.kind), "ref": self.ref, "name": self.name, "mime": self.mime, "size": self.size}
        data = {k: v for k, v in data.items() if v is not None}
        if self.meta:
            data["meta"] = dict(self.meta)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Attachment:
        return cls(
            kind=AttachmentKind(data["kind"]),
            ref=data.get("ref"),
            name=data.get("name"),
            mime=data.get("mime"),
            size=data.get("size"),
            meta=data.get("meta") or {},
        )


@dataclass
class Message:
    tenant_id: str
    conversation_id: str
    id: str
    type: MessageType
    created_at: str
    text: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    author_id: str | None = None  # contact id for incoming, operator id for outgoing/notes
    author_name: str | None = None
    external_id: str | None = None
    status: DeliveryStatus | None = None
    failure_reason: str | None = None
    reply_to_external_id: str | None = None
    edited_at: str | None = None
    deleted_at: str | None = None
    forwarded_from: str | None = None
    client_id: str | None = None
    meta: dict = field(default_factory=dict)
    # Where the conversation lives, copied onto each message so delivery needs no extra reads.
    inbox_id: str | None = None
    channel: str | None = None
    source_id: str | None = None

    def preview(self) -> dict:
        """What a conversation row shows of its last message."""
        text = self.text or (f"[{self.attachments[0].kind}]" if self.attachments else "")
        return {"id": self.id, "type": str(self.type), "text": text[:140], "at": self.created_at}
