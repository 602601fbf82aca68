"""What operators do with conversations: read, reply, note, assign, resolve, reopen, snooze."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta

from ..domain import clock
from ..domain.conversation import Action, Conversation, OperatorView, Status, accepts_replies, next_status
from ..domain.errors import BadRequest, Conflict, IllegalTransition, NotFound
from ..domain.ids import ulid
from ..domain.message import Attachment, DeliveryStatus, Message, MessageType
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

MAX_ATTEMPTS = 5
MAX_TEXT = 20_000
MAX_SNOOZE = timedelta(days=366)

Change = Callable[[Conversation], tuple[Conversation, list[TxOp]]]


class ConversationService:
    def __init__(self, conversations: ConversationStore, messages: MessageStore, directory: DirectoryStore,
                 writer: ConversationWriter, now: Callable[[], datetime] = clock.now) -> None:
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
        if status is not None and status not in {s.value for s in Status}:
            raise BadRequest(f"Unknown status '{status}'; use open, pending, snoozed or resolved.")
        return self._conversations.list(viewer, status=status, assignee=assignee, limit=limit, cursor=cursor)

    def messages(self, viewer: OperatorView, conversation_id: str, *, limit: int,
                 cursor: str | None) -> tuple[list[Message], str | None]:
        self.get(viewer, conversation_id)
        return self._messages.page(viewer.tenant_id, conversation_id, limit=limit, cursor=cursor)

    # ------------------------------------------------------------ writing
    def reply(self, viewer: OperatorView, conversation_id: str, text: str, client_id: str | None,
              attachments: list[Attachment] = ()) -> Message:  # type: ignore[assignment]
        """Store an outgoing message as ``pending``; the stream hands it to delivery. Idempotent on ``client_id``.

        ``attachments`` are files the operator uploaded to this conversation (``upload`` gave their keys).
        """
        text = _clean_text(text) if text or not attachments else ""
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
            )
            ops = [put_message(message)] + ([put_client_key(message)] if client_id else [])
            return new, ops

        return self._write_message(viewer, conversation_id, change, client_id, created)

    def note(self, viewer: OperatorView, conversation_id: str, text: str, client_id: str | None) -> Message:
        """A private note: stored, shown to operators, never delivered to the contact."""
        text = _clean_text(text)
        created: list[Message] = []

        def change(conv: Conversation) -> tuple[Conversation, list[TxOp]]:
            message = self._message(viewer, conv, MessageType.NOTE, text, client_id, None)
            created.append(message)
            ops = [put_message(message)] + ([put_client_key(message)] if client_id else [])
            return conv, ops

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
            new = dataclasses.replace(conv, assignee_id=assignee_id, team_id=team_id or conv.team_id)
            who = operator.name if assignee_id else "nobody"
            line = f"{viewer.name or 'An operator'} assigned this to {who}"
            if team_id:
                line += f" in {teams[team_id].name}"
            return new, [put_message(self._activity(conv, line))]

        return self._change(viewer, conversation_id, change)

    def resolve(self, viewer: OperatorView, conversation_id: str) -> Conversation:
        return self._transition(viewer, conversation_id, Action.RESOLVE, "resolved this", release=True)

    def reopen(self, viewer: OperatorView, conversation_id: str) -> Conversation:
        return self._transition(viewer, conversation_id, Action.REOPEN, "reopened this", claim=True)

    def unsnooze(self, viewer: OperatorView, conversation_id: str) -> Conversation:
        return self._transition(viewer, conversation_id, Action.UNSNOOZE, "unsnoozed this")

    def snooze(self, viewer: OperatorView, conversation_id: str, until: datetime) -> Conversation:
        now = self._now()
        if until <= now:
            raise BadRequest("The snooze time must be in the future.")
        if until - now > MAX_SNOOZE:
            raise BadRequest("A conversation can be snoozed for at most a year.")
        until_text = clock.iso(until)

        def extra(conv: Conversation) -> Conversation:
            return dataclasses.replace(conv, snoozed_until=until_text, snooze_version=conv.snooze_version + 1)

        label = f"snoozed this until {until.strftime('%Y-%m-%d %H:%M')} UTC"
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
                ops.append(release_identity(conv))
            if claim and conv.status is Status.RESOLVED:
                ops.append(claim_identity(conv))
            return new, ops

        try:
            return self._change(viewer, conversation_id, change)
        except ConditionFailed:
            if claim:
                raise Conflict("The contact already has another open conversation in this inbox.") from None
            raise

    def _change(self, viewer: OperatorView, conversation_id: str, change: Change) -> Conversation:
        for _ in range(MAX_ATTEMPTS):
            conv = self.get(viewer, conversation_id)
            new, ops = change(conv)
            try:
                return self._writer.save(conv, new, ops)
            except VersionConflict:
                continue
        raise Conflict("The conversation is changing too quickly; try again.")

    def _write_message(self, viewer: OperatorView, conversation_id: str, change: Change,
                       client_id: str | None, created: list[Message]) -> Message:
        try:
            self._change(viewer, conversation_id, change)
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

    def _activity(self, conv: Conversation, text: str) -> Message:
        return Message(
            tenant_id=conv.tenant_id, conversation_id=conv.id, id=ulid(), type=MessageType.ACTIVITY,
            created_at=clock.iso(self._now()), text=text, inbox_id=conv.inbox_id, channel=conv.channel,
            source_id=conv.source_id,
        )


def upload_prefix(conversation: Conversation) -> str:
    """Where an operator's uploads for ``conversation`` live in the attachments bucket."""
    return f"{conversation.tenant_id}/{conversation.id}/uploads/"


def _clean_text(text: object) -> str:
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("The message text must not be empty.")
    if len(text) > MAX_TEXT:
        raise BadRequest(f"The message is too long ({len(text)} characters; the limit is {MAX_TEXT}).")
    return text
