"""Reading conversations: one item by id, and a contact's conversations. List views read the views table
(store/views.py)."""

from __future__ import annotations

from ..domain.conversation import Conversation
from ..domain.errors import NotFound
from .mapping import conversation_from_item
from .models import ConversationItem


class ConversationStore:
    def get(self, tenant_id: str, conversation_id: str) -> Conversation:
        try:
            return conversation_from_item(ConversationItem.get(tenant_id, conversation_id, consistent_read=True))
        except ConversationItem.DoesNotExist:
            raise NotFound("No such conversation.") from None

    def of_contact(self, tenant_id: str, contact_id: str, limit: int = 50) -> list[Conversation]:
        query = ConversationItem.by_contact.query(
            f"{tenant_id}#{contact_id}", scan_index_forward=False, limit=limit, page_size=limit
        )
        return [conversation_from_item(item) for item in query]
