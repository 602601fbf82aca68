"""The once-only key of a conversation's auto-reply: written in the same transaction as the reply, so a stream retry
or a racing consumer finds it taken and sends nothing."""

from __future__ import annotations

from ..domain.conversation import Conversation
from .models import MessageItem
from .writes import TxOp

KIND = "auto_reply"  # a key item in the messages table; stream consumers skip kinds they do not know


def auto_reply_pk(tenant_id: str, conversation_id: str) -> str:
    return f"{tenant_id}#autoreply#{conversation_id}"


def claim_auto_reply(conversation: Conversation, message_id: str) -> TxOp:
    """Claims the conversation's one auto-reply for ``message_id``; fails (ConditionFailed) if it was claimed."""
    key = MessageItem(pk=auto_reply_pk(conversation.tenant_id, conversation.id), sk=KIND, kind=KIND,
                      tenant_id=conversation.tenant_id, conversation_id=conversation.id, message_id=message_id)
    return lambda tx: tx.save(key, condition=MessageItem.pk.does_not_exist())
