"""Conversions between items and domain objects."""

from __future__ import annotations

from ..domain.conversation import Conversation, Status
from ..domain.message import Attachment, DeliveryStatus, Message, MessageType
from .models import UNASSIGNED, ConversationItem, MessageItem


def _none_if_unassigned(value: str | None) -> str | None:
    return None if value in (None, UNASSIGNED) else value


def conversation_from_item(item: ConversationItem) -> Conversation:
    return Conversation(
        tenant_id=item.tenant_id,
        id=item.conversation_id,
        inbox_id=item.inbox_id,
        contact_id=item.contact_id,
        channel=item.channel,
        status=Status(item.status),
        assignee_id=_none_if_unassigned(item.assignee_id),
        team_id=_none_if_unassigned(item.team_id),
        created_at=item.created_at,
        last_activity_at=item.last_activity_at,
        last_message=item.last_message or {},
        unread_count=int(item.unread_count or 0),
        waiting_since=item.waiting_since,
        snoozed_until=item.snoozed_until,
        snooze_version=int(item.snooze_version or 0),
        version=int(item.version or 0),
        title=item.title,
        priority=item.priority or "normal",
        contact_name=item.contact_name,
        source_id=item.source_id,
        tags=list(item.tags or []),
        participants=list(item.participants or []),
        request_type=item.request_type,
        reasons=list(item.reasons or []),
        components=list(item.components or []),
        operator_active_until=item.operator_active_until,
        sla_due_at=item.sla_due_at,
        sla_state=item.sla_state or "none",
        sla_version=int(item.sla_version or 0),
        sla=item.sla or {},
        sla_alert=item.sla_alert,
        woke_at=item.woke_at,
        changed_by=item.changed_by if item.changed_by_version == item.version else None,
    )


def message_from_item(item: MessageItem) -> Message:
    return Message(
        tenant_id=item.tenant_id,
        conversation_id=item.conversation_id or "",
        id=item.message_id or item.sk,
        type=MessageType(item.type),
        created_at=item.created_at or "",
        text=item.text or "",
        attachments=[Attachment.from_dict(a) for a in item.attachments or []],
        author_id=item.author_id,
        author_name=item.author_name,
        external_id=item.external_id,
        status=DeliveryStatus(item.status) if item.status else None,
        failure_reason=item.failure_reason,
        reply_to_external_id=item.reply_to_external_id,
        edited_at=item.edited_at,
        deleted_at=item.deleted_at,
        forwarded_from=item.forwarded_from,
        client_id=item.client_id,
        meta=item.meta or {},
        inbox_id=item.inbox_id,
        channel=item.channel,
        source_id=item.source_id,
    )


def message_to_item(message: Message) -> MessageItem:
    from .keys import message_pk

    return MessageItem(
        pk=message_pk(message.tenant_id, message.conversation_id),
        sk=message.id,
        kind="message",
        tenant_id=message.tenant_id,
        conversation_id=message.conversation_id,
        message_id=message.id,
        type=str(message.type),
        text=message.text or None,
        attachments=[a.to_dict() for a in message.attachments] or None,
        author_id=message.author_id,
        author_name=message.author_name,
        external_id=message.external_id,
        status=str(message.status) if message.status else None,
        failure_reason=message.failure_reason,
        reply_to_external_id=message.reply_to_external_id,
        edited_at=message.edited_at,
        deleted_at=message.deleted_at,
        forwarded_from=message.forwarded_from,
        client_id=message.client_id,
        meta=message.meta or None,
        created_at=message.created_at,
        inbox_id=message.inbox_id,
        channel=message.channel,
        source_id=message.source_id,
    )
