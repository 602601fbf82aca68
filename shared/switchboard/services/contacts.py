"""Contact cards: reading one (only for operators who may see one of its conversations), searching, editing,
notes, blocking ("hide chat"), and merging two contacts into one, losing nothing."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..domain import clock
from ..domain.contact import (
    ContactChanges,
    ContactEvent,
    apply_attributes,
    name_words,
    note_text,
    parse_changes,
    search_query,
)
from ..domain.conversation import Conversation, OperatorView
from ..domain.errors import BadRequest, Conflict, NotFound
from ..domain.ids import ulid
from ..domain.message import Message, MessageType
from ..store.contact_cards import ContactCardStore, Note
from ..store.contacts import ContactStore
from ..store.conversations import ConversationStore
from ..store.models import ContactItem
from ..store.timeline import TimelineStore
from ..store.writes import ConversationWriter, VersionConflict, put_message

MAX_CONVERSATIONS = 500  # a contact with more is merged in several calls; each call is idempotent
CARD_CONVERSATIONS = 100  # read for the card and for the access check
MAX_NOTES = 50
MAX_ATTEMPTS = 5


class ContactService:
    def __init__(self, contacts: ContactStore, conversations: ConversationStore, writer: ConversationWriter,
                 cards: ContactCardStore, timeline: TimelineStore, now: Callable[[], datetime] = clock.now) -> None:
        self._contacts = contacts
        self._conversations = conversations
        self._writer = writer
        self._cards = cards
        self._timeline = timeline
        self._now = now

    # ------------------------------------------------------------ reading
    def card(self, viewer: OperatorView, contact_id: str) -> dict:
        """The contact (following a merge to the contact that absorbed it), with identities, conversations across
        channels newest first, notes, and contacts that gave the same phone or e-mail (merge suggestions)."""
        contact, conversations = self.visible(viewer, contact_id)
        return {"contact": contact, "conversations": conversations,
                "notes": self._cards.notes(viewer.tenant_id, own_ids(contact), MAX_NOTES),
                "merge_suggestions": self._suggestions(viewer.tenant_id, contact)}

    def visible(self, viewer: OperatorView, contact_id: str) -> tuple[ContactItem, list[Conversation]]:
        """The current contact and the conversations of it ``viewer`` may see. A contact is visible to whoever may
        see one of its conversations (admins and supervisors: all); otherwise it is simply not found, like another
        tenant's."""
        contact = self.current(viewer.tenant_id, contact_id)
        conversations = [c for c in self._conversations.of_contact(viewer.tenant_id, contact.contact_id,
                                                                    limit=CARD_CONVERSATIONS) if c.visible_to(viewer)]
        if not conversations and not viewer.sees_all:
            raise NotFound("No such contact.")
        return contact, conversations

    def current(self, tenant_id: str, contact_id: str) -> ContactItem:
        contact = self._contacts.contact(tenant_id, contact_id)
        for _ in range(10):  # merges chain at most this deep in practice
            if not contact.merged_into:
                return contact
            contact = self._contacts.contact(tenant_id, contact.merged_into)
        raise NotFound("No such contact.")

    def search(self, viewer: OperatorView, text: object, *, limit: int,
               cursor: str | None) -> tuple[list[ContactItem], str | None]:
        """Contacts by name (any word's prefix, any case), phone (any format) or e-mail, answered from the lookup
        keys. A page may hold fewer than ``limit`` contacts (those ``viewer`` may not see are left out); the cursor
        says whether more follow."""
        query = search_query(text)
        page = self._cards.lookup(viewer.tenant_id, query.kind, query.prefix, limit, cursor)
        cards = self._cards.cards(viewer.tenant_id, [contact_id for _, contact_id in page.hits])
        found: dict[str, ContactItem] = {}
        for value, contact_id in page.hits:
            card = cards.get(contact_id)
            if card is None or card.merged_into or contact_id in found or not query.matches(card.name):
                continue
            if query.kind == "name" and value != _first_word(card.name, query.prefix):
                continue  # the same contact is listed under its first matching word, on whichever page that is
            if viewer.sees_all or self._sees_any(viewer, contact_id):
                found[contact_id] = card
        return list(found.values()), page.cursor

    def _sees_any(self, viewer: OperatorView, contact_id: str) -> bool:
        conversations = self._conversations.of_contact(viewer.tenant_id, contact_id, limit=CARD_CONVERSATIONS)
        return any(conversation.visible_to(viewer) for conversation in conversations)

    # ------------------------------------------------------------ changing the card
    def edit(self, viewer: OperatorView, contact_id: str, body: dict[str, Any]) -> dict:
        """Change name, e-mail, phone, language, attributes or tags. The search keys change in the same write; a
        new name also reaches the contact's conversations, so lists show it."""
        changes = parse_changes(body)
        for _ in range(MAX_ATTEMPTS):
            contact, _ = self.visible(viewer, contact_id)
            values = _values(contact, changes)
            if not values or self._cards.update(contact, values):
                break
        else:
            raise Conflict("The contact is changing too quickly; try again.")
        if "name" in values:
            self._rename_conversations(viewer.tenant_id, contact.contact_id, values["name"])
        return self.card(viewer, contact.contact_id)

    def set_blocked(self, viewer: OperatorView, contact_id: str, blocked: bool) -> dict:
        """Block ("hide chat") or unblock. While blocked, the contact's messages on every channel are kept for its
        timeline but open no conversation and notify nobody, and the widget hides itself. Repeating is harmless."""
        for _ in range(MAX_ATTEMPTS):
            contact, _ = self.visible(viewer, contact_id)
            if self._cards.set_blocked(contact, blocked):
                break
        else:
            raise Conflict("The contact is changing too quickly; try again.")
        if bool(contact.blocked) != blocked:
            event = ContactEvent(type="contact.blocked" if blocked else "contact.unblocked",
                                 at=clock.iso(self._now()))
            self._timeline.record(viewer.tenant_id, contact.contact_id, event, viewer.name or "An operator")
        return self.card(viewer, contact.contact_id)

    def add_note(self, viewer: OperatorView, contact_id: str, text: object) -> Note:
        """A note about the person, kept on the card (not in any one conversation)."""
        cleaned = note_text(text)
        contact, _ = self.visible(viewer, contact_id)
        note = Note(id=ulid(), text=cleaned, author_id=viewer.operator_id, author_name=viewer.name or None,
                    created_at=clock.iso(self._now()))
        self._cards.add_note(viewer.tenant_id, contact.contact_id, note)
        return note

    def _rename_conversations(self, tenant_id: str, contact_id: str, name: str | None) -> None:
        for conversation in self._conversations.of_contact(tenant_id, contact_id, limit=MAX_CONVERSATIONS):
            for _ in range(MAX_ATTEMPTS):
                if conversation.contact_name == name:
                    break
                try:
                    self._writer.save(conversation, dataclasses.replace(conversation, contact_name=name))
                    break
                except VersionConflict:
                    conversation = self._conversations.get(tenant_id, conversation.id)

    # ------------------------------------------------------------ merging
    def merge(self, viewer: OperatorView, keep_id: str, other_id: str) -> dict:
        """Move every identity and conversation of ``other_id`` to ``keep_id``; ``other_id`` then points at it."""
        if keep_id == other_id:
            raise BadRequest("A contact cannot be merged into itself.")
        keep, _ = self.visible(viewer, keep_id)
        other = self._contacts.contact(viewer.tenant_id, other_id)
        if other.merged_into and other.merged_into != keep.contact_id:
            raise Conflict("That contact was already merged into another one.")
        if not other.merged_into and not viewer.sees_all and not self._sees_any(viewer, other_id):
            raise NotFound("No such contact.")  # merging a card one may not see would reveal it
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


def own_ids(contact: ContactItem) -> list[str]:
    """The contact and those merged into it: their notes, events and hidden messages belong to this card."""
    return [contact.contact_id, *(contact.absorbed or [])]


def _values(contact: ContactItem, changes: ContactChanges) -> dict[str, Any]:
    """The item attributes an edit changes (None removes one); unchanged fields are left out."""
    values: dict[str, Any] = {name: value for name, value in changes.fields.items() if value != getattr(contact, name)}
    if changes.attributes:
        attributes = apply_attributes(contact.attributes or {}, changes.attributes)
        if attributes != (contact.attributes or {}):
            values["attributes"] = attributes
    if changes.tags is not None and list(changes.tags) != (contact.tags or []):
        values["tags"] = list(changes.tags)
    return values


def _first_word(name: str | None, prefix: str) -> str | None:
    return min((word for word in name_words(name) if word.startswith(prefix)), default=None)
