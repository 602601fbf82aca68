"""What operators do with conversations: read, reply, note, assign, resolve, reopen, snooze."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from ..domain import clock
from ..domain.conversation import Action, Conversation, OperatorView, Status, accepts_replies, next_status
from ..domain.errors import BadRequest, Conflict, IllegalTransition, NotFound
from ..domain.ids import ulid
from ..domain.message import Attachment, DeliveryStatus, Message, MessageType
from ..domain.settings import OPERATOR_ACTIVE, require_editable
from ..domain.snooze_presets import SnoozeChoice, custom_moment
from ..store.conversations import ConversationStore
from ..store.directory import DirectoryStore
from ..store.messages import MessageStore
from ..store.writes import (
    ConditionFailed,
    ConversationWriter,
    TxOp,
    VersionConflict,
    claim_identity,
    put_client_key,
    put_message,
    release_identity,
)
from .lists import ConversationLists

MAX_ATTEMPTS = 5
MAX_TEXT = 20_000

Change = Callable[[Conversation], tuple[Conversation, list[TxOp]]]


class ConversationService:
    def __init__(self, conversations: ConversationStore, messages: MessageStore, directory: DirectoryStore,
                 writer: ConversationWriter, now: Callable[[], datetime] = clock.now, *,
                 lists: ConversationLists, zone_of: Callable[[str], ZoneInfo]) -> None:
        self._lists = lists
        self._zone_of = zone_of  # the tenant's wall clock, for snooze presets and activity lines
        self._conversations = conversations
        self._messages = messages
        self._directory = directory
        self._writer = writer
        self._now = now

    # ------------------------------------------------------------ reading
    def get(self, viewer: OperatorView, conversation_id: str) -> Conversation:
        """The conversation, if ``viewer`` may see it. Another tenant's id or an invisible one is simply not found."""
        conversation = self._conversations.get(viewer.tenant_id, conversation_id)
        if not conversation.visible_to(viewer):
            raise NotFound("No such conversation.")
        return conversation

    def list(self, viewer: OperatorView, *, status: str | None, assignee: str | None, limit: int,
             cursor: str | None) -> tuple[list[Conversation], str | None]:
        """By status (None: every status) and assignee; ConversationLists.page takes every other filter too."""
        params = {"status": status or "all", **({"assignee": assignee} if assignee else {})}
        return self._lists.page(viewer, params, limit=limit, cursor=cursor)

    def messages(self, viewer: OperatorView, conversation_id: str, *, limit: int,
                 cursor: str | None) -> tuple[list[Message], str | None]:
        self.get(viewer, conversation_id)
        return self._messages.page(viewer.tenant_id, conversation_id, limit=limit, cursor=cursor)

    # ------------------------------------------------------------ writing
    def reply(self, viewer: OperatorView, conversation_id: str, text: str, client_id: str | None,
              attachments: list[Attachment] = (), *, then_pending: bool = False) -> Message:  # type: ignore[assignment]
        """Store an outgoing message as ``pending``; the stream hands it to delivery. Idempotent on ``client_id``.

        ``attachments`` are files the operator uploaded to this conversation (``upload`` gave their keys).
        ``then_pending``: the reply asks the customer something, so the conversation waits for them (``pending``).
        """
        text = clean_text(text) if text or not attachments else ""
        created: list[Message] = []

        def change(conv: Conversation) -> tuple[Conversation, list[TxOp]]:
            if not accepts_replies(conv.status):
                raise IllegalTransition("Cannot reply in a resolved conversation: reopen it first.", status="resolved")
            for attachment in attachments:
                if not attachment.meta.get("key", "").startswith(upload_prefix(conv)):
                    raise BadRequest("An attachment was not uploaded to this conversation.")
            message = self._message(viewer, conv, MessageType.OUTGOING, text, client_id, DeliveryStatus.PENDING)
            message.attachments = list(attachments)
            created.append(message)
            at = message.created_at
            new = dataclasses.replace(
                conv, last_activity_at=at, last_message=message.preview(), unread_count=0, waiting_since=None,
                assignee_id=conv.assignee_id or viewer.operator_id,  # the first to answer owns it
                operator_active_until=self._active_until(),
            )
            ops = [put_message(message)] + ([put_client_key(message)] if client_id else [])
            if then_pending and conv.status is not Status.PENDING:
                new = dataclasses.replace(new, status=next_status(conv.status, Action.SET_PENDING))
                ops.append(put_message(self._activity(conv, f"{viewer.name or 'An operator'} set this to pending")))
            return new, ops

        return self._write_message(viewer, conversation_id, change, client_id, created)

    def note(self, viewer: OperatorView, conversation_id: str, text: str, client_id: str | None) -> Message:
        """A private note: stored, shown to operators, never delivered to the contact."""
        text = clean_text(text)
        created: list[Message] = []

        def change(conv: Conversation) -> tuple[Conversation, list[TxOp]]:
            message = self._message(viewer, conv, MessageType.NOTE, text, client_id, None)
            created.append(message)
            ops = [put_message(message)] + ([put_client_key(message)] if client_id else [])
            active = conv if conv.status is Status.RESOLVED else dataclasses.replace(
                conv, operator_active_until=self._active_until())
            return active, ops

        return self._write_message(viewer, conversation_id, change, client_id, created)

    def assign(self, viewer: OperatorView, conversation_id: str, *, assignee_id: str | None,
               team_id: str | None = None, expected_version: int | None = None) -> Conversation:
        if assignee_id is not None:
            operator = self._directory.operator(viewer.tenant_id, assignee_id)
        teams = {team.id: team for team in self._directory.teams(viewer.tenant_id)} if team_id else {}
        if team_id and team_id not in teams:
            raise NotFound("No such team.")

        def change(conv: Conversation) -> tuple[Conversation, list[TxOp]]:
            if expected_version is not None and conv.version != expected_version:
                raise Conflict("Someone changed this conversation a moment ago.", conversation=conv)
            require_editable(conv, "assignee")
            new = dataclasses.replace(conv, assignee_id=assignee_id, team_id=team_id or conv.team_id)
            who = operator.name if assignee_id else "nobody"
            line = f"{viewer.name or 'An operator'} assigned this to {who}"
            if team_id:
                line += f" in {teams[team_id].name}"
            return new, [put_message(self._activity(conv, line))]

        return self.change(viewer, conversation_id, change)

    def resolve(self, viewer: OperatorView, conversation_id: str) -> Conversation:
        return self._transition(viewer, conversation_id, Action.RESOLVE, "resolved this", release=True)

    def reopen(self, viewer: OperatorView, conversation_id: str) -> Conversation:
        return self._transition(viewer, conversation_id, Action.REOPEN, "reopened this", claim=True)

    def set_pending(self, viewer: OperatorView, conversation_id: str) -> Conversation:
        """Waiting for the customer: the next customer message opens it again."""
        return self._transition(viewer, conversation_id, Action.SET_PENDING, "set this to pending")

    def unsnooze(self, viewer: OperatorView, conversation_id: str) -> Conversation:
        return self._transition(viewer, conversation_id, Action.UNSNOOZE, "unsnoozed this")

    def snooze_for(self, viewer: OperatorView, conversation_id: str, choice: SnoozeChoice) -> Conversation:
        """Snooze as the operator chose: a preset read on the tenant's wall clock, a moment, or until the contact
        replies."""
        zone = self._zone_of(viewer.tenant_id)
        return self.snooze(viewer, conversation_id, choice.wake_at(self._now(), zone), zone=zone)

    def snooze(self, viewer: OperatorView, conversation_id: str, until: datetime | None, *,
               zone: ZoneInfo | None = None) -> Conversation:
        """Snooze until ``until`` (future, at most a year), or with None until the contact writes again. A new
        ``snooze_version`` makes any earlier timer stale, so re-snoozing replaces the timer."""
        until_text = clock.iso(custom_moment(until, self._now())) if until is not None else None

        def extra(conv: Conversation) -> Conversation:
            return dataclasses.replace(conv, snoozed_until=until_text, snooze_version=conv.snooze_version + 1)

        label = "snoozed this until the contact replies"
        if until is not None:
            local = until.astimezone(zone or self._zone_of(viewer.tenant_id))
            label = f"snoozed this until {local.strftime('%a %Y-%m-%d %H:%M')} ({local.tzinfo})"
        return self._transition(viewer, conversation_id, Action.SNOOZE, label, adjust=extra)

    # ------------------------------------------------------------ internals
    def _transition(self, viewer: OperatorView, conversation_id: str, action: Action, label: str, *,
                    release: bool = False, claim: bool = False,
                    adjust: Callable[[Conversation], Conversation] = lambda c: c) -> Conversation:
        def change(conv: Conversation) -> tuple[Conversation, list[TxOp]]:
            new = adjust(dataclasses.replace(conv, status=next_status(conv.status, action)))
            if new.status is not Status.SNOOZED:
                new = dataclasses.replace(new, snoozed_until=None)
            ops = [put_message(self._activity(conv, f"{viewer.name or 'An operator'} {label}"))]
            if release:
                ops.append(release_identity(conv, clock.iso(self._now())))
            if claim and conv.status is Status.RESOLVED:
                ops.append(claim_identity(conv))
            return new, ops

        try:
            return self.change(viewer, conversation_id, change)
        except ConditionFailed:
            if claim:
                raise Conflict("The contact already has another open conversation in this inbox.") from None
            raise

    def change(self, viewer: OperatorView, conversation_id: str, change: Change) -> Conversation:
        for _ in range(MAX_ATTEMPTS):
            conv = self.get(viewer, conversation_id)
            new, ops = change(conv)
            try:
                return self._writer.save(conv, new, ops, actor=viewer.operator_id)
            except VersionConflict:
                continue
        raise Conflict("The conversation is changing too quickly; try again.")

    def _write_message(self, viewer: OperatorView, conversation_id: str, change: Change,
                       client_id: str | None, created: list[Message]) -> Message:
        try:
            self.change(viewer, conversation_id, change)
        except ConditionFailed:
            existing = self._messages.find_by_client_id(viewer.tenant_id, conversation_id, client_id or "")
            if existing is None:
                raise
            return existing  # the same client id was already stored: a retry, not a new message
        return created[-1]

    def _message(self, viewer: OperatorView, conv: Conversation, kind: MessageType, text: str,
                 client_id: str | None, status: DeliveryStatus | None) -> Message:
        return Message(
            tenant_id=conv.tenant_id, conversation_id=conv.id, id=ulid(), type=kind,
            created_at=clock.iso(self._now()), text=text, author_id=viewer.operator_id, author_name=viewer.name,
            status=status, client_id=client_id, inbox_id=conv.inbox_id, channel=conv.channel,
            source_id=conv.source_id,
        )

    def _active_until(self) -> str:
        return clock.iso(self._now() + OPERATOR_ACTIVE)

    def activity(self, conv: Conversation, viewer: OperatorView, line: str) -> TxOp:
        """The write of an ``activity`` line "<operator> <line>" in ``conv``, to go with a change."""
        return put_message(self._activity(conv, f"{viewer.name or 'An operator'} {line}"))

    def _activity(self, conv: Conversation, text: str) -> Message:
        return Message(
            tenant_id=conv.tenant_id, conversation_id=conv.id, id=ulid(), type=MessageType.ACTIVITY,
            created_at=clock.iso(self._now()), text=text, inbox_id=conv.inbox_id, channel=conv.channel,
            source_id=conv.source_id,
        )


def upload_prefix(conversation: Conversation) -> str:
    """Where an operator's uploads for ``conversation`` live in the attachments bucket."""
    return f"{conversation.tenant_id}/{conversation.id}/uploads/"


def clean_text(text: object) -> str:
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("The message text must not be empty.")
    if len(text) > MAX_TEXT:
        raise BadRequest(f"The message is too long ({len(text)} characters; the limit is {MAX_TEXT}).")
    return text
