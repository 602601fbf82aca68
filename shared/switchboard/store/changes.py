"""The catch-up feed: every event the fan-out sent, so a reconnecting client receives what it missed, in order."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from ..domain import clock
from ..domain.conversation import Conversation, OperatorView
from ..domain.ids import ulid
from .models import ChangeItem

KEEP_SECONDS = 2 * 24 * 3600
MAX_HOURS = 48


def _feed(tenant_id: str, moment: datetime) -> str:
    return f"{tenant_id}#{moment.strftime('%Y-%m-%dT%H')}"


class ChangeFeed:
    def __init__(self, now: Callable[[], datetime] = clock.now) -> None:
        self._now = now

    def append(self, conversation: Conversation, payload: dict) -> str:
        """Record an event of ``conversation``; returns its sequence, which the event carries to the sockets."""
        moment = self._now()
        seq = f"{clock.iso(moment)}#{ulid()}"
        ChangeItem(_feed(conversation.tenant_id, moment), seq, payload=payload, team_id=conversation.team_id,
                   inbox_id=conversation.inbox_id, assignee_id=conversation.assignee_id,
                   participants=list(conversation.participants) or None,
                   expires_at=int(time.time()) + KEEP_SECONDS).save()
        return seq

    def since(self, viewer: OperatorView, seq: str, limit: int) -> tuple[list[dict], bool]:
        """The events after ``seq`` that ``viewer`` may see, oldest first, and whether that is all of them."""
        start = clock.parse_iso(seq.split("#", 1)[0])
        now = self._now()
        if now - start > timedelta(hours=MAX_HOURS):
            return [], False  # older than the feed keeps: the client reloads instead
        events: list[dict] = []
        hour = start.replace(minute=0, second=0, microsecond=0)
        while hour <= now:
            for item in ChangeItem.query(_feed(viewer.tenant_id, hour), ChangeItem.seq > seq):
                if _visible(item, viewer):
                    events.append({**item.payload, "seq": item.seq})
                    if len(events) >= limit:
                        return events, False
            hour += timedelta(hours=1)
        return events, True


def _visible(item: ChangeItem, viewer: OperatorView) -> bool:
    return (viewer.sees_all or item.assignee_id == viewer.operator_id or item.team_id in viewer.team_ids
            or item.inbox_id in viewer.inbox_ids or viewer.operator_id in (item.participants or ()))
