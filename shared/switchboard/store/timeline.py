"""A contact's timeline in the messages table: the events tenants' systems post about it (one partition per
contact), read newest first together with the messages of its conversations.

Every stream of the timeline is sorted by a ULID sort key (message ids, event ids), so one cursor — the last key
returned — resumes all of them, even when a conversation joins the contact between two pages.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass

from ..domain import clock
from ..domain.contact import ContactEvent
from ..domain.errors import BadRequest
from ..domain.ids import ulid
from ..domain.message import Message
from .keys import contact_event_key_pk, contact_events_pk, message_pk
from .mapping import message_from_item
from .models import MessageItem
from .pages import decode_cursor, encode_cursor
from .writes import TransactionRunner

EVENT_KIND = "contact_event"  # not "event": the stream consumers answer those as button presses


@dataclass(frozen=True)
class StoredEvent:
    id: str
    contact_id: str
    type: str
    at: str
    url: str | None
    title: str | None
    data: dict
    source: str | None  # who recorded it: an API key's name, an operator
    event_id: str | None  # the tenant system's own id


@dataclass(frozen=True)
class TimelinePage:
    entries: list[Message | StoredEvent]  # newest first
    cursor: str | None


class TimelineStore:
    def __init__(self, runner: TransactionRunner) -> None:
        self._runner = runner

    def record(self, tenant_id: str, contact_id: str, event: ContactEvent, source: str | None) -> tuple[str, bool]:
        """Store ``event`` in the contact's timeline; with an event id, once per tenant (a retry finds the first).
        Returns the stored id and whether this call stored it."""
        event_key = ulid(int(clock.parse_iso(event.at).timestamp() * 1000))  # sorts with the messages by time
        item = MessageItem(
            pk=contact_events_pk(tenant_id, contact_id), sk=event_key, kind=EVENT_KIND, tenant_id=tenant_id,
            message_id=event_key, type=event.type, created_at=event.at, client_id=event.event_id,
            author_name=source, meta={"url": event.url, "title": event.title, "data": event.data},
            conversation_id=contact_id,
        )
        if event.event_id is None:
            item.save()
            return event_key, True
        claim = MessageItem(pk=contact_event_key_pk(tenant_id, event.event_id), sk="key", kind="contact_event_key",
                            tenant_id=tenant_id, conversation_id=contact_id, message_id=event_key)
        failed = self._runner.run([
            lambda tx: tx.save(claim, condition=MessageItem.pk.does_not_exist()),
            lambda tx: tx.save(item, condition=MessageItem.pk.does_not_exist()),
        ])
        if failed is None:
            return event_key, True
        first = MessageItem.get(claim.pk, "key", consistent_read=True)
        return first.message_id or event_key, False

    def page(self, tenant_id: str, conversation_ids: list[str], contact_ids: list[str], *, limit: int,
             cursor: str | None) -> TimelinePage:
        """The newest ``limit`` entries before the cursor across these conversations' messages and these contacts'
        events. Each stream is one Query of at most ``limit`` items."""
        before = _before(cursor)
        streams = [message_pk(tenant_id, conversation_id) for conversation_id in conversation_ids]
        streams += [contact_events_pk(tenant_id, contact_id) for contact_id in contact_ids]
        runs = [self._newest(pk, before, limit) for pk in streams]
        merged = list(itertools.islice(heapq.merge(*runs, key=lambda item: item.sk, reverse=True), limit + 1))
        page = merged[:limit]
        more = len(merged) > limit or any(len(run) == limit for run in runs)
        return TimelinePage([_entry(item) for item in page],
                            encode_cursor({"before": page[-1].sk}) if more and page else None)

    @staticmethod
    def _newest(pk: str, before: str | None, limit: int) -> list[MessageItem]:
        condition = MessageItem.sk < before if before else None
        return list(MessageItem.query(pk, condition, scan_index_forward=False, limit=limit, page_size=limit))


def _before(cursor: str | None) -> str | None:
    state = decode_cursor(cursor)
    if state is None:
        return None
    if not isinstance(state, dict) or not isinstance(state.get("before"), str):
        raise BadRequest("The cursor is not valid for this timeline; start again from the first page.")
    return state["before"]


def _entry(item: MessageItem) -> Message | StoredEvent:
    if item.kind != EVENT_KIND:
        return message_from_item(item)
    meta = item.meta or {}
    return StoredEvent(id=item.sk, contact_id=item.conversation_id or "", type=item.type or "",
                       at=item.created_at or "", url=meta.get("url"), title=meta.get("title"),
                       data=meta.get("data") or {}, source=item.author_name, event_id=item.client_id)
