"""A contact's timeline: every message of its conversations (status changes are their activity lines), the
messages kept while it was blocked, and the events tenants' systems post about it (page views, orders)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..domain import clock
from ..domain.contact import hidden_conversation_id, parse_event
from ..domain.conversation import OperatorView
from ..store.timeline import TimelinePage, TimelineStore
from .api_keys import ApiCaller
from .contacts import ContactService, own_ids

EVENTS_SCOPE = "contacts:write"
TIMELINE_CONVERSATIONS = 50  # the most recent ones; each is one Query per page, so the page cost stays bounded


class TimelineService:
    def __init__(self, contacts: ContactService, store: TimelineStore,
                 now: Callable[[], datetime] = clock.now) -> None:
        self._contacts = contacts
        self._store = store
        self._now = now

    def page(self, viewer: OperatorView, contact_id: str, *, limit: int, cursor: str | None) -> TimelinePage:
        """Newest first, across the (most recent) conversations ``viewer`` may see, the messages kept while the
        contact was blocked, and its events; the cursor leads further back."""
        contact, conversations = self._contacts.visible(viewer, contact_id)
        ids = own_ids(contact)
        conversation_ids = [c.id for c in conversations[:TIMELINE_CONVERSATIONS]]
        conversation_ids += [hidden_conversation_id(cid) for cid in ids]
        return self._store.page(viewer.tenant_id, conversation_ids, ids, limit=limit, cursor=cursor)

    def record(self, caller: ApiCaller, contact_id: str, body: dict) -> dict:
        """An event from a tenant's system (API key with the contacts:write scope). With an ``id``, a retry is
        stored once. Posted to a merged contact, it lands on the contact that absorbed it."""
        caller.require(EVENTS_SCOPE)
        event = parse_event(body, self._now())
        contact = self._contacts.current(caller.tenant_id, contact_id)
        stored_id, first = self._store.record(caller.tenant_id, contact.contact_id, event, "API")
        return {"id": stored_id, "contact_id": contact.contact_id, "duplicate": not first}
