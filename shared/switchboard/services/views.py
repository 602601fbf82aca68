"""The JSON shapes operators see, shared by the REST API and the realtime feed so both always agree."""

from __future__ import annotations

from collections.abc import Callable

from ..domain.conversation import Conversation
from ..domain.message import Attachment, Message


def conversation_view(conversation: Conversation, names: dict[str, str] | None = None) -> dict:
    """``names``: display names of operators, teams and inboxes by id (DirectoryStore.names)."""
    names = names or {}
    return {
        "id": conversation.id,
        "status": str(conversation.status),
        "channel": conversation.channel,
        "inbox_id": conversation.inbox_id,
        "inbox_name": names.get(conversation.inbox_id),
        "contact": {"id": conversation.contact_id, "name": conversation.contact_name},
        "last_message": conversation.last_message or None,
        "last_activity_at": conversation.last_activity_at,
        "assignee_id": conversation.assignee_id,
        "assignee_name": names.get(conversation.assignee_id or ""),
        "team_id": conversation.team_id,
        "team_name": names.get(conversation.team_id or ""),
        "unread_count": conversation.unread_count,
        "waiting_since": conversation.waiting_since,
        "snoozed_until": conversation.snoozed_until,
        "created_at": conversation.created_at,
        "title": conversation.title,
        "priority": conversation.priority,
        "tags": conversation.tags,
        "participants": conversation.participants,
        "request_type": conversation.request_type,
        "reasons": conversation.reasons,
        "components": conversation.components,
        "sla_due_at": conversation.sla_due_at,
        "sla_state": conversation.sla_state,
        "version": conversation.version,
    }


def message_view(message: Message, link: Callable[[str, str | None], str] | None = None) -> dict:
    """``link`` turns a stored attachment's key into a pre-signed URL (AttachmentService.link)."""
    return {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "type": str(message.type),
        "text": message.text,
        "attachments": [_attachment_view(a, link) for a in message.attachments],
        "author_id": message.author_id,
        "author_name": message.author_name,
        "created_at": message.created_at,
        "status": str(message.status) if message.status else None,
        "failure_reason": message.failure_reason,
        "edited_at": message.edited_at,
        "deleted_at": message.deleted_at,
        "full_text": message.meta.get("full_text"),  # e-mail: with the quoted history the view folds away
        "reactions": message.meta.get("reactions") or {},
        "forwarded_from": message.forwarded_from,
        "reply_to_external_id": message.reply_to_external_id,
        "external_id": message.external_id,
    }


def _attachment_view(attachment: Attachment, link: Callable[[str, str | None], str] | None) -> dict:
    view = {"kind": str(attachment.kind), "name": attachment.name, "mime": attachment.mime, "size": attachment.size}
    key, error = attachment.meta.get("key"), attachment.meta.get("error")
    if key and link is not None:
        view["url"] = link(key, attachment.name)
    if error:
        view["error"] = error
    extra = {k: v for k, v in attachment.meta.items() if k in _SHOWN_META}
    return {**view, **({"meta": extra} if extra else {})}


_SHOWN_META = ("latitude", "longitude", "title", "address", "phone_number", "first_name", "last_name", "emoji",
               "width", "height", "duration")
