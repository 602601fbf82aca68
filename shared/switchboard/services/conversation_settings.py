"""Changing what a conversation is about and who follows it: title, priority, tags, participants, request type,
reasons, components; the tag catalogue and the dialog settings; automated messages that wait for people."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime

from ..domain import clock
from ..domain.conversation import EDIT_DIALOG_SETTINGS, Conversation, OperatorView
from ..domain.errors import Conflict, Forbidden
from ..domain.ids import ulid
from ..domain.message import DeliveryStatus, Message, MessageType
from ..domain.settings import (
    Catalogues,
    Patch,
    add_participant,
    add_tag,
    automation_held,
    catalogue_values,
    normalize_tag,
    remove_participant,
    remove_tag,
)
from ..store.catalogues import CatalogueStore
from ..store.conversations import ConversationStore
from ..store.directory import DirectoryStore
from ..store.writes import ConditionFailed, ConversationWriter, TxOp, VersionConflict, put_client_key, put_message
from .api_keys import ApiCaller
from .conversations import ConversationService, clean_text

AUTOMATION = "Automation"


class ConversationSettingsService:
    def __init__(self, conversations: ConversationService, catalogues: CatalogueStore, directory: DirectoryStore,
                 store: ConversationStore, writer: ConversationWriter,
                 now: Callable[[], datetime] = clock.now) -> None:
        self._conversations = conversations
        self._catalogues = catalogues
        self._directory = directory
        self._store = store
        self._writer = writer
        self._now = now

    # ------------------------------------------------------------ settings
    def update(self, viewer: OperatorView, conversation_id: str, patch: Patch,
               expected_version: int | None = None) -> Conversation:
        catalogues = self._catalogues.catalogues(viewer.tenant_id)

        def change(conv: Conversation) -> tuple[Conversation, list[TxOp]]:
            if expected_version is not None and conv.version != expected_version:
                raise Conflict("Someone changed this conversation a moment ago.", conversation=conv)
            new, lines = patch.apply(conv, catalogues)
            return new, [self._conversations.activity(conv, viewer, "; ".join(lines))] if lines else []

        return self._conversations.change(viewer, conversation_id, change)

    def tag(self, viewer: OperatorView, conversation_id: str, raw: object) -> Conversation:
        """Anyone who sees the conversation may tag it, even when resolved; a new tag joins the catalogue."""
        tag = normalize_tag(raw)
        self._catalogues.add_tag(viewer.tenant_id, tag, viewer.operator_id, clock.iso(self._now()))
        return self._toggle(viewer, conversation_id, lambda conv: add_tag(conv, tag), f"tagged this “{tag}”")

    def untag(self, viewer: OperatorView, conversation_id: str, raw: object) -> Conversation:
        tag = normalize_tag(raw)
        return self._toggle(viewer, conversation_id, lambda conv: remove_tag(conv, tag), f"removed the tag “{tag}”")

    def follow(self, viewer: OperatorView, conversation_id: str, operator_id: str) -> Conversation:
        """Add a participant: an extra operator who follows the conversation (sees it, is notified)."""
        operator = self._directory.operator(viewer.tenant_id, operator_id)
        line = "joined this conversation" if operator_id == viewer.operator_id else f"added {operator.name}"
        return self._toggle(viewer, conversation_id, lambda conv: add_participant(conv, operator_id), line)

    def unfollow(self, viewer: OperatorView, conversation_id: str, operator_id: str) -> Conversation:
        operator = self._directory.operator(viewer.tenant_id, operator_id)
        line = "left this conversation" if operator_id == viewer.operator_id else f"removed {operator.name}"
        return self._toggle(viewer, conversation_id, lambda conv: remove_participant(conv, operator_id), line)

    def _toggle(self, viewer: OperatorView, conversation_id: str,
                apply: Callable[[Conversation], Conversation | None], line: str) -> Conversation:
        """A change that may already be in place: then nothing is written and the conversation is returned."""
        unchanged: list[Conversation] = []

        def change(conv: Conversation) -> tuple[Conversation, list[TxOp]]:
            new = apply(conv)
            if new is None:
                unchanged.append(conv)
                raise _Unchanged
            return new, [self._conversations.activity(conv, viewer, line)]

        try:
            return self._conversations.change(viewer, conversation_id, change)
        except _Unchanged:
            return unchanged[-1]

    # ------------------------------------------------------------ catalogues
    def tags(self, viewer: OperatorView, prefix: str | None = None) -> list[str]:
        wanted = (prefix or "").strip().lower()
        return sorted(tag for tag in self._catalogues.tags(viewer.tenant_id) if tag.startswith(wanted))

    def create_tag(self, viewer: OperatorView, raw: object) -> tuple[str, bool]:
        tag = normalize_tag(raw)
        return tag, self._catalogues.add_tag(viewer.tenant_id, tag, viewer.operator_id, clock.iso(self._now()))

    def dialog_settings(self, viewer: OperatorView) -> Catalogues:
        return self._catalogues.catalogues(viewer.tenant_id)

    def set_catalogue(self, viewer: OperatorView, name: str, values: object) -> Catalogues:
        if not viewer.can(EDIT_DIALOG_SETTINGS):
            raise Forbidden("Changing request types, reasons and components needs the "
                            "'can edit dialog settings' permission.")
        self._catalogues.put_catalogue(viewer.tenant_id, name, catalogue_values(name, values), viewer.operator_id)
        return self._catalogues.catalogues(viewer.tenant_id)

    # ------------------------------------------------------------ automation
    def automated(self, caller: ApiCaller, conversation_id: str, text: str, client_id: str | None) -> dict:
        """A bot's or auto-reply's message. While a person handles the conversation it is held: kept as a private
        note the operator can use, never sent to the customer."""
        caller.require("messages:write")
        for _ in range(5):
            conv = self._store.get(caller.tenant_id, conversation_id)
            held = automation_held(conv, self._now())
            message = self._automated_message(conv, text, client_id, held)
            ops = [put_message(message)] + ([put_client_key(message)] if client_id else [])
            try:
                saved = self._writer.save(conv, self._after(conv, message, held), ops)
            except ConditionFailed:
                raise Conflict("This client_id was already used for another message.") from None
            except VersionConflict:  # a concurrent change: read again
                continue
            return {"held": held is not None, "reason": held, "message_id": message.id,
                    "conversation_version": saved.version}
        raise Conflict("The conversation is changing too quickly; try again.")

    def _automated_message(self, conv: Conversation, text: str, client_id: str | None, held: str | None) -> Message:
        return Message(
            tenant_id=conv.tenant_id, conversation_id=conv.id, id=ulid(),
            type=MessageType.NOTE if held else MessageType.OUTGOING, created_at=clock.iso(self._now()),
            text=clean_text(text) if not held else f"Held automated message ({held}): {clean_text(text)}",
            author_name=AUTOMATION, status=None if held else DeliveryStatus.PENDING, client_id=client_id,
            inbox_id=conv.inbox_id, channel=conv.channel, source_id=conv.source_id,
        )

    @staticmethod
    def _after(conv: Conversation, message: Message, held: str | None) -> Conversation:
        if held:
            return conv
        return dataclasses.replace(conv, last_activity_at=message.created_at, last_message=message.preview())


class _Unchanged(Exception):
    """Nothing to write: the change is already in place."""
