"""What a widget visitor reads: their own conversation history, without notes or activity lines; or, once the
contact is blocked, only that the widget is hidden."""

from __future__ import annotations

import json

from ..channels.base import Credentials, WebhookResponse
from ..channels.widget import check_visitor
from ..domain.directory import Inbox
from ..domain.message import Message, MessageType
from ..store.contacts import ContactStore
from ..store.conversations import ConversationStore
from ..store.messages import MessageStore

HISTORY_LIMIT = 100


class WidgetService:
    def __init__(self, contacts: ContactStore, conversations: ConversationStore, messages: MessageStore) -> None:
        self._contacts = contacts
        self._conversations = conversations
        self._messages = messages

    def history(self, inbox: Inbox, credentials: Credentials, query: dict[str, str]) -> WebhookResponse:
        visitor_id = check_visitor(credentials, query.get("visitor_id"), query.get("visitor_token"))
        identity = self._contacts.identity(inbox.tenant_id, inbox.id, visitor_id)
        if identity is not None and identity.blocked:  # "hide chat": the widget reads this and stays hidden
            return WebhookResponse(status=200, body=json.dumps({"messages": [], "hidden": True}))
        messages: list[Message] = []
        if identity is not None:
            conversations = [
                c for c in self._conversations.of_contact(inbox.tenant_id, identity.contact_id, limit=5)
                if c.inbox_id == inbox.id
            ]
            for conversation in reversed(conversations):
                page, _ = self._messages.page(inbox.tenant_id, conversation.id, limit=HISTORY_LIMIT, cursor=None)
                messages += page
        visible = [public_message(m) for m in messages if m.type in (MessageType.INCOMING, MessageType.OUTGOING)]
        return WebhookResponse(status=200, body=json.dumps({"messages": visible[-HISTORY_LIMIT:]}))


def public_message(message: Message) -> dict:
    """A message as the visitor sees it: never operators' ids, notes or delivery internals."""
    return {
        "id": message.id,
        "direction": "in" if message.type is MessageType.INCOMING else "out",
        "text": message.text,
        "at": message.created_at,
        "author_name": message.author_name if message.type is MessageType.OUTGOING else None,
    }
