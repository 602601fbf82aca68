"""Contact cards and merging two contacts into one, losing nothing."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime

from ..domain import clock
from ..domain.conversation import OperatorView
from ..domain.errors import BadRequest, Conflict, NotFound
from ..domain.ids import ulid
from ..domain.message import Message, MessageType
from ..store.contacts import ContactStore
from ..store.conversations import ConversationStore
from ..store.models import ContactItem
from ..store.writes import ConversationWriter, VersionConflict, put_message

MAX_CONVERSATIONS = 500  # a contact with more is merged in several calls; each call is idempotent


class ContactService:
    def __init__(self, contacts: ContactStore, conversations: ConversationStore, writer: ConversationWriter,
                 now: Callable[[], datetime] = clock.now) -> None:
        self._contacts = contacts
        self._conversations = conversations
        self._writer = writer
        self._now = now

    def card(self, viewer: OperatorView, contact_id: str) -> dict:
        """The contact (following a merge to the contact that absorbed it), with identities, conversations across
        channels newest first, and contacts that gave the same phone or e-mail (merge suggestions)."""
        contact = self._current(viewer.tenant_id, contact_id)
        conversations = [c for c in self._conversations.of_contact(viewer.tenant_id, contact.contact_id)
                         if c.visible_to(viewer)]
        return {"contact": contact, "conversations": conversations,
                "merge_suggestions": self._suggestions(viewer.tenant_id, contact)}

    def merge(self, viewer: OperatorView, keep_id: str, other_id: str) -> dict:
        """Move every identity and conversation of ``other_id`` to ``keep_id``; ``other_id`` then points at it."""
        if keep_id == other_id:
            raise BadRequest("A contact cannot be merged into itself.")
        keep = self._current(viewer.tenant_id, keep_id)
        other = self._contacts.contact(viewer.tenant_id, other_id)
        if other.merged_into and other.merged_into != keep.contact_id:
            raise Conflict("That contact was already merged into another one.")
        line = f"{viewer.name or 'An operator'} merged {other.name or 'a contact'} into {keep.name or 'this contact'}"
        for conversation in self._conversations.of_contact(viewer.tenant_id, other_id, limit=MAX_CONVERSATIONS):
            self._move_conversation(viewer, conversation.id, keep.contact_id, line)
        self._contacts.absorb(keep, other)
        return self.card(viewer, keep.contact_id)

    def _move_conversation(self, viewer: OperatorView, conversation_id: str, contact_id: str, line: str) -> None:
        for _ in range(5):
            conversation = self._conversations.get(viewer.tenant_id, conversation_id)
            if conversation.contact_id == contact_id:
                return
            activity = Message(
                tenant_id=conversation.tenant_id, conversation_id=conversation.id, id=ulid(),
                type=MessageType.ACTIVITY, created_at=clock.iso(self._now()), text=line,
                inbox_id=conversation.inbox_id, channel=conversation.channel, source_id=conversation.source_id,
            )
            try:
                self._writer.save(conversation, dataclasses.replace(conversation, contact_id=contact_id),
                                  [put_message(activity)])
                return
            except VersionConflict:
                continue
        raise Conflict("A conversation of this contact is changing too quickly; try the merge again.")

    def _current(self, tenant_id: str, contact_id: str) -> ContactItem:
        contact = self._contacts.contact(tenant_id, contact_id)
        for _ in range(10):  # merges chain at most this deep in practice
            if not contact.merged_into:
                return contact
            contact = self._contacts.contact(tenant_id, contact.merged_into)
        raise NotFound("No such contact.")

    def _suggestions(self, tenant_id: str, contact: ContactItem) -> list[dict]:
        seen, found = {contact.contact_id}, []
        for kind, value in (("phone", contact.phone), ("email", contact.email)):
            for other_id in self._contacts.with_address(tenant_id, kind, value) if value else []:
                if other_id in seen:
                    continue
                seen.add(other_id)
                other = self._contacts.contact(tenant_id, other_id)
                if not other.merged_into:
                    found.append({"id": other_id, "name": other.name, "reason": f"same {kind}: {value}"})
        return found
