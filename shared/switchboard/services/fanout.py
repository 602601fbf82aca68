"""Turning committed changes into realtime events, posted once to each socket entitled to see them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..domain.contact import is_hidden_conversation
from ..domain.conversation import Conversation
from ..domain.errors import NotFound
from ..domain.message import Message, MessageType
from ..store.changes import ChangeFeed
from ..store.connections import Connection, ConnectionStore
from ..store.conversations import ConversationStore
from ..store.streams import Change
from .views import conversation_view, message_view

Poster = Callable[[str, bytes], bool]  # (connection id, data) -> False when the socket is gone

_WATCHED = ("status", "assignee_id", "team_id", "last_activity_at", "last_message", "unread_count",
            "snoozed_until", "title", "priority", "contact_name", "waiting_since", "tags", "participants",
            "request_type", "reasons", "components", "sla_due_at", "sla_state")


class FanoutService:
    def __init__(self, connections: ConnectionStore, conversations: ConversationStore, post: Poster,
                 names: Callable[[str], dict[str, str]], link: Callable[[str, str | None], str] | None = None,
                 feed: ChangeFeed | None = None) -> None:
        self._connections = connections
        self._conversations = conversations
        self._post = post
        self._names = names
        self._link = link
        self._feed = feed

    def publish(self, changes: list[Change]) -> int:
        """Post every event of a batch; returns how many posts were made."""
        sockets: dict[str, list[Connection]] = {}
        posts = 0
        for change in changes:
            event = self._event(change)
            if event is None:
                continue
            payload, conversation = event
            if self._feed is not None:  # recorded first: a client that misses the post still finds it here
                payload = {**payload, "seq": self._feed.append(conversation, payload)}
            tenant = conversation.tenant_id
            if tenant not in sockets:
                sockets[tenant] = self._connections.operators_of(tenant)
            data = json.dumps(payload).encode()
            for connection in sockets[tenant]:
                if conversation.visible_to(connection.viewer()):
                    posts += 1
                    if not self._post(connection.connection_id, data):
                        self._connections.forget_gone(connection)
        return posts

    def _event(self, change: Change) -> tuple[dict, Conversation] | None:
        if change.table == "conversations" and change.new is not None:
            return self._conversation_event(change.new, change.old), change.new
        if change.table == "messages" and change.new is not None:
            return self._message_event(change)
        return None

    def _conversation_event(self, new: Conversation, old: Conversation | None) -> dict:
        view = conversation_view(new, self._names(new.tenant_id))
        if old is None:
            return {"type": "conversation.created", "conversation": view}
        changed = [name for name in _WATCHED if getattr(new, name) != getattr(old, name)]
        return {"type": "conversation.updated", "conversation": view, "changed": changed}

    def _message_event(self, change: Change) -> tuple[dict, Conversation] | None:
        message: Message = change.new
        if is_hidden_conversation(message.conversation_id):  # a blocked contact's: for its timeline only
            return None
        try:
            conversation = self._conversations.get(message.tenant_id, message.conversation_id)
        except NotFound:
            return None
        kind = "message.created" if change.event == "INSERT" else "message.updated"
        payload: dict[str, Any] = {"type": kind, "conversation_id": message.conversation_id,
                                   "message": message_view(message, self._link)}
        if message.type is MessageType.NOTE:
            payload["private"] = True
        return payload, conversation

