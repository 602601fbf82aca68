"""Operators' notifications as stored: each kept once (its key item is claimed in the same transaction), listed newest
first, counted while unread through a sparse index, plus each operator's notification preferences."""

from __future__ import annotations

import time
from dataclasses import dataclass

from pynamodb.exceptions import UpdateError

from ..domain.notifications import Channel, Event, Notification, Preferences
from .models import NotificationItem
from .pages import decode_cursor, encode_cursor
from .writes import TransactionRunner

KEEP_SECONDS = 30 * 24 * 3600
UNREAD_CAP = 100  # the badge shows "99+" beyond this; counting further would read every old unread item
_LISTED = "n#"
_PREFERENCES = "preferences"


@dataclass(frozen=True)
class StoredNotification:
    id: str  # "{created_at}#{key}": sorts as they were kept; opaque to clients
    event: Event
    conversation_id: str | None
    title: str
    body: str
    actor_id: str | None
    created_at: str
    channels: frozenset[Channel]
    read_at: str | None = None


def _pk(tenant_id: str, operator_id: str) -> str:
    return f"{tenant_id}#{operator_id}"


def _expires() -> int:
    return int(time.time()) + KEEP_SECONDS


class NotificationStore:
    def __init__(self, runner: TransactionRunner) -> None:
        self._runner = runner

    # ------------------------------------------------------------ writing, from the stream consumer
    def add(self, notification: Notification, channels: frozenset[Channel], at: str) -> StoredNotification | None:
        """Keep ``notification``, or None if it was kept before (the stream delivered the same change again).

        The key item and the listed item (only for the in-app channel) are written in one transaction, so a retry
        never finds one without the other."""
        pk = _pk(notification.tenant_id, notification.recipient_id)
        stored = StoredNotification(
            id=f"{at}#{notification.key}", event=notification.event, conversation_id=notification.conversation_id,
            title=notification.title, body=notification.body, actor_id=notification.actor_id, created_at=at,
            channels=channels,
        )
        key = NotificationItem(pk, f"key#{notification.key}", kind="key", key=notification.key,
                               expires_at=_expires())
        ops = [lambda tx: tx.save(key, condition=NotificationItem.sk.does_not_exist())]
        if Channel.IN_APP in channels:
            listed = _listed_item(pk, stored)
            ops.append(lambda tx: tx.save(listed))
        return stored if self._runner.run(ops) is None else None

    def claim_email(self, notification: Notification, at: str) -> bool:
        """Mark the notification's e-mail as being sent; False if an earlier attempt already did (or is doing) it."""
        return self._update_key(notification, [NotificationItem.emailed_at.set(at)],
                                NotificationItem.emailed_at.does_not_exist())

    def release_email(self, notification: Notification) -> None:
        """The send failed and will be retried with the stream record: let that attempt claim it again."""
        self._update_key(notification, [NotificationItem.emailed_at.remove()], NotificationItem.sk.exists())

    def _update_key(self, notification: Notification, actions: list, condition: object) -> bool:
        item = NotificationItem(_pk(notification.tenant_id, notification.recipient_id), f"key#{notification.key}")
        try:
            item.update(actions=actions, condition=condition)
        except UpdateError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # ------------------------------------------------------------ reading and marking, for the operator
    def recent(self, tenant_id: str, operator_id: str, *, limit: int,
               cursor: str | None) -> tuple[list[StoredNotification], str | None]:
        """The newest ``limit`` notifications before the cursor, newest first."""
        pk = _pk(tenant_id, operator_id)
        start = decode_cursor(cursor)
        last_key = {"pk": {"S": pk}, "sk": {"S": f"{_LISTED}{start}"}} if isinstance(start, str) else None
        query = NotificationItem.query(pk, NotificationItem.sk.startswith(_LISTED), scan_index_forward=False,
                                       limit=limit, last_evaluated_key=last_key)
        items = [_stored(item) for item in query]
        more = query.last_evaluated_key is not None and len(items) == limit
        return items, encode_cursor(items[-1].id) if more and items else None

    def unread_count(self, tenant_id: str, operator_id: str) -> int:
        """Unread notifications, up to UNREAD_CAP: the index holds only unread items, so this reads nothing else."""
        return len(self.unread_ids(tenant_id, operator_id))

    def mark_read(self, tenant_id: str, operator_id: str, ids: list[str], at: str) -> None:
        """Mark these notifications read; ids that are unknown or already read are left alone."""
        pk = _pk(tenant_id, operator_id)
        for notification_id in ids:
            item = NotificationItem(pk, f"{_LISTED}{notification_id}")
            try:
                item.update(actions=[NotificationItem.read_at.set(at), NotificationItem.unread_pk.remove()],
                            condition=NotificationItem.unread_pk.exists())
            except UpdateError as exc:
                if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                    raise

    def unread_ids(self, tenant_id: str, operator_id: str) -> list[str]:
        """The ids of the newest unread notifications (at most UNREAD_CAP), for "mark all read"."""
        query = NotificationItem.unread.query(_pk(tenant_id, operator_id), scan_index_forward=False,
                                              limit=UNREAD_CAP)
        return [item.sk.removeprefix(_LISTED) for item in query]

    # ------------------------------------------------------------ preferences
    def preferences(self, tenant_id: str, operator_id: str) -> Preferences:
        try:
            item = NotificationItem.get(_pk(tenant_id, operator_id), _PREFERENCES)
        except NotificationItem.DoesNotExist:
            return Preferences()
        return Preferences.from_stored(item.preferences)

    def save_preferences(self, tenant_id: str, operator_id: str, preferences: Preferences) -> None:
        NotificationItem(_pk(tenant_id, operator_id), _PREFERENCES, kind="preferences",
                         preferences=preferences.chosen_dict()).save()


def _listed_item(pk: str, stored: StoredNotification) -> NotificationItem:
    return NotificationItem(
        pk, f"{_LISTED}{stored.id}", kind="notification", key=stored.id.rsplit("#", 1)[1], event=str(stored.event),
        conversation_id=stored.conversation_id, title=stored.title, body=stored.body, actor_id=stored.actor_id,
        channels=sorted(str(c) for c in stored.channels), created_at=stored.created_at, unread_pk=pk,
        expires_at=_expires(),
    )


def _stored(item: NotificationItem) -> StoredNotification:
    return StoredNotification(
        id=item.sk.removeprefix(_LISTED), event=Event(item.event), conversation_id=item.conversation_id,
        title=item.title or "", body=item.body or "", actor_id=item.actor_id, created_at=item.created_at or "",
        channels=frozenset(Channel(c) for c in item.channels or []), read_at=item.read_at,
    )
