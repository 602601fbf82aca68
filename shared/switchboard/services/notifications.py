"""Telling operators what happened. From the stream: the notifications a committed change means (domain rules), kept
for the bell, posted to the recipient's sockets and mailed through SES, each as that operator prefers, and each only
once however often the stream delivers the change. For the operator: their recent notifications and preferences."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from ..domain import clock
from ..domain.contact import is_hidden_conversation
from ..domain.conversation import OperatorView
from ..domain.directory import Operator
from ..domain.errors import BadRequest, NotFound
from ..domain.notifications import (
    CATALOGUE,
    Channel,
    Notification,
    Occurrence,
    Preferences,
    address,
    conversation_occurrences,
    message_occurrences,
    parse_preferences,
    task_notifications,
)
from ..domain.tasks import Task
from ..mail.ses import MailRejected
from ..store.connections import ConnectionStore
from ..store.conversations import ConversationStore
from ..store.directory import DirectoryStore
from ..store.notifications import NotificationStore, StoredNotification
from ..store.streams import Change

log = logging.getLogger(__name__)

Poster = Callable[[str, bytes], bool]  # (connection id, data) -> False when the socket is gone
MAX_MARKED = 100
_LIVE = frozenset({Channel.IN_APP, Channel.BROWSER})


class Mailer(Protocol):
    def send(self, to: str, subject: str, text: str, headers: dict[str, str] | None = None) -> str: ...


class NotificationService:
    def __init__(self, store: NotificationStore, directory: DirectoryStore, conversations: ConversationStore,
                 connections: ConnectionStore, post: Poster, mailer: Mailer,
                 now: Callable[[], datetime] = clock.now) -> None:
        self._store = store
        self._directory = directory
        self._conversations = conversations
        self._connections = connections
        self._post = post
        self._mailer = mailer
        self._now = now

    # ------------------------------------------------------------ from the stream
    def notify(self, change: Change) -> int:
        """Deliver the notifications of one committed change; returns how many were new. Safe to repeat: a change
        delivered again finds each notification already kept, posts nothing and mails nothing twice."""
        if change.table == "tasks":
            return self._notify_task(change.old, change.new) if change.new is not None else 0
        occurrences = self._occurrences(change)
        if not occurrences:
            return 0
        tenant_id = occurrences[0].conversation.tenant_id
        operators = {operator.id: operator for operator in self._directory.operators(tenant_id)}
        notifications = address(occurrences, operators.values(), self._directory.names(tenant_id))
        return sum(self._deliver(notification, operators[notification.recipient_id])
                   for notification in notifications)

    def _notify_task(self, old: Task | None, new: Task) -> int:
        """Task assigned or overdue: told to the assignee, through the channels they chose for it."""
        notifications = task_notifications(old, new, self._directory.names(new.tenant_id))
        if not notifications:
            return 0
        operators = {operator.id: operator for operator in self._directory.operators(new.tenant_id)}
        return sum(self._deliver(notification, operators[notification.recipient_id])
                   for notification in notifications if notification.recipient_id in operators)

    def _occurrences(self, change: Change) -> list[Occurrence]:
        if change.table == "conversations" and change.new is not None:
            return conversation_occurrences(change.old, change.new)
        if change.table == "messages" and change.event == "INSERT" and change.new is not None:
            message = change.new
            if is_hidden_conversation(message.conversation_id):  # a blocked contact's messages notify nobody
                return []
            try:
                conversation = self._conversations.get(message.tenant_id, message.conversation_id)
            except NotFound:
                return []
            return message_occurrences(message, conversation)
        return []

    def _deliver(self, notification: Notification, operator: Operator) -> bool:
        channels = self._store.preferences(notification.tenant_id, operator.id).channels(notification.event)
        if not channels:
            return False
        stored = self._store.add(notification, channels, clock.iso(self._now()))
        if stored is not None and channels & _LIVE:
            self._post_to_sockets(notification, stored)
        if Channel.EMAIL in channels:
            self._mail(notification, operator)
        return stored is not None

    def _post_to_sockets(self, notification: Notification, stored: StoredNotification) -> None:
        frame = json.dumps({"type": "notification", "notification": notification_view(stored)}).encode()
        for connection in self._connections.of_operator(notification.tenant_id, notification.recipient_id):
            if not self._post(connection.connection_id, frame):
                self._connections.forget_gone(connection)

    def _mail(self, notification: Notification, operator: Operator) -> None:
        """Claim the e-mail, then send it: a retried change finds it claimed. A transient failure gives the claim
        back and raises, so the stream's retry sends it; a permanent refusal is logged and not retried."""
        if not self._store.claim_email(notification, clock.iso(self._now())):
            return
        try:
            self._mailer.send(operator.email, notification.title, _mail_text(notification), {
                "X-Switchboard-Event": str(notification.event),
                "X-Switchboard-Conversation": notification.conversation_id or "",
            })
        except MailRejected as refused:
            log.warning("notification e-mail refused: %s", refused)
        except Exception:
            self._store.release_email(notification)
            raise

    # ------------------------------------------------------------ for the operator
    def recent(self, viewer: OperatorView, *, limit: int, cursor: str | None) -> dict:
        items, next_cursor = self._store.recent(viewer.tenant_id, viewer.operator_id, limit=limit, cursor=cursor)
        return {"items": [notification_view(item) for item in items], "next_cursor": next_cursor,
                "unread_count": self._store.unread_count(viewer.tenant_id, viewer.operator_id)}

    def mark_read(self, viewer: OperatorView, ids: object = None, everything: object = False) -> dict:
        """Mark the given notifications (or, with ``everything``, all unread ones) read; returns the unread count."""
        if everything is True:
            ids = self._store.unread_ids(viewer.tenant_id, viewer.operator_id)
        elif not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or len(ids) > MAX_MARKED:
            raise BadRequest(f"Give ids (a list of at most {MAX_MARKED} notification ids) or all: true.")
        self._store.mark_read(viewer.tenant_id, viewer.operator_id, ids, clock.iso(self._now()))
        return {"unread_count": self._store.unread_count(viewer.tenant_id, viewer.operator_id)}

    def preferences(self, viewer: OperatorView) -> dict:
        return preferences_view(self._store.preferences(viewer.tenant_id, viewer.operator_id))

    def set_preferences(self, viewer: OperatorView, data: object) -> dict:
        """Replace the operator's choices; events left out keep their defaults."""
        preferences = parse_preferences(data)
        self._store.save_preferences(viewer.tenant_id, viewer.operator_id, preferences)
        return preferences_view(preferences)


def notification_view(stored: StoredNotification) -> dict:
    """The JSON shape of a notification, in the list and in the socket's ``notification`` frame alike. ``channels``
    tells the client whether to list it (in_app) and whether to show a browser notification (browser)."""
    return {
        "id": stored.id,
        "event": str(stored.event),
        "conversation_id": stored.conversation_id,
        "title": stored.title,
        "body": stored.body,
        "actor_id": stored.actor_id,
        "created_at": stored.created_at,
        "read": stored.read_at is not None,
        "channels": sorted(str(channel) for channel in stored.channels),
    }


def preferences_view(preferences: Preferences) -> dict:
    return {
        "preferences": preferences.to_dict(),
        "events": [{"event": str(event), "label": label, "defaults": sorted(str(c) for c in defaults)}
                   for event, (label, defaults) in CATALOGUE.items()],
        "channels": [str(channel) for channel in Channel],
    }


def _mail_text(notification: Notification) -> str:
    label = CATALOGUE[notification.event][0]
    lines = [notification.title, "", notification.body] if notification.body else [notification.title]
    if notification.conversation_id:
        lines += ["", f"Open the conversation in Switchboard (conversation {notification.conversation_id})."]
    lines += ["", f"You get this e-mail for \"{label}\"; choose how you are notified under Notifications in "
              "Switchboard."]
    return "\n".join(lines) + "\n"
