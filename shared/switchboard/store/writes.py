"""Transactional writes: a conversation change (optimistic on ``version``) with the items that go with it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from ..domain.conversation import Conversation
from ..domain.message import Message
from .errors import failed_conditions
from .keys import client_key_pk, conversation_index_keys, identity_sk
from .mapping import message_to_item
from .models import UNASSIGNED, ContactItem, ConversationItem, MessageItem

TxOp = Callable[[TransactWrite], None]

# Domain field -> item attribute, for the fields a change may touch.
_FIELDS = {
    "assignee_id": "assignee_id",
    "contact_id": "contact_id", "team_id": "team_id", "last_activity_at": "last_activity_at",
    "last_message": "last_message", "unread_count": "unread_count", "waiting_since": "waiting_since",
    "snoozed_until": "snoozed_until", "snooze_version": "snooze_version", "title": "title", "priority": "priority",
    "contact_name": "contact_name", "tags": "tags", "participants": "participants",
    "request_type": "request_type", "reasons": "reasons", "components": "components",
    "operator_active_until": "operator_active_until", "sla_due_at": "sla_due_at",
    "sla_state": "sla_state", "sla_version": "sla_version", "sla": "sla",
}


class VersionConflict(Exception):
    """Someone changed the conversation since it was read; read again and retry."""


class ConditionFailed(Exception):
    """A condition other than the version failed; ``index`` is the failing extra operation."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


class TransactionRunner:
    def __init__(self, region: str) -> None:
        self._region = region
        self._connection: Connection | None = None

    @property
    def connection(self) -> Connection:
        # One connection per process: each new one builds a botocore client, which costs tens of milliseconds.
        if self._connection is None:
            self._connection = Connection(region=self._region)
        return self._connection

    def run(self, ops: list[TxOp]) -> list[bool] | None:
        """Run ops in one transaction. None on success, else one flag per op: True where its condition failed."""
        kinds: list[str] = []
        try:
            with TransactWrite(connection=self.connection) as tx:
                recorder = _Recorder(tx, kinds)
                for op in ops:
                    op(recorder)  # type: ignore[arg-type]
        except TransactWriteError as exc:
            flags = failed_conditions(exc)
            if not any(flags):
                raise
            # PynamoDB sends condition checks, deletes, puts and updates in that order, whatever order we used.
            sent = sorted(range(len(kinds)), key=lambda i: (_SEND_ORDER.index(kinds[i]), i))
            by_op = [False] * len(kinds)
            for position, op_index in enumerate(sent):
                by_op[op_index] = position < len(flags) and flags[position]
            return by_op
        return None


_SEND_ORDER = ["condition_check", "delete", "save", "update"]


class _Recorder:
    """Forwards to the transaction and notes each operation's kind, to map failures back to our ops."""

    def __init__(self, tx: TransactWrite, kinds: list[str]) -> None:
        self._tx = tx
        self._kinds = kinds

    def __getattr__(self, name: str) -> Any:
        if name not in _SEND_ORDER:
            raise AttributeError(name)
        self._kinds.append(name)
        return getattr(self._tx, name)


class ConversationWriter:
    def __init__(self, runner: TransactionRunner) -> None:
        self._runner = runner

    def save(self, old: Conversation, new: Conversation, extra: list[TxOp] = (),  # type: ignore[assignment]
             actor: str | None = None) -> Conversation:
        """Write the difference between ``old`` and ``new`` if nobody changed the conversation meanwhile.

        ``actor``: the operator making the change, recorded with this version so that stream consumers know who did
        it (an operator is never notified of their own action)."""
        saved = dataclasses.replace(new, version=old.version + 1, changed_by=actor)
        actions = _actions(old, saved)
        if actor is not None:
            actions += [ConversationItem.changed_by.set(actor), ConversationItem.changed_by_version.set(saved.version)]
        ops: list[TxOp] = [lambda tx: tx.update(
            ConversationItem(old.tenant_id, old.id),
            actions=actions,
            condition=ConversationItem.version == old.version,
        )]
        failed = self._runner.run(ops + list(extra))
        if failed is None:
            return saved
        if failed[0]:
            raise VersionConflict(old.id)
        raise ConditionFailed(failed.index(True) - 1)


def _actions(old: Conversation, new: Conversation) -> list[Any]:
    actions: list[Any] = [ConversationItem.version.set(new.version)]
    for field, attribute_name in _FIELDS.items():
        value = getattr(new, field)
        if value == getattr(old, field):
            continue
        attribute = getattr(ConversationItem, attribute_name)
        if field in ("assignee_id", "team_id"):
            value = value or UNASSIGNED
        actions.append(attribute.remove() if value is None else attribute.set(value))
    keys = conversation_index_keys(
        tenant_id=new.tenant_id, conversation_id=new.id, status=str(new.status), assignee_id=new.assignee_id,
        team_id=new.team_id, inbox_id=new.inbox_id, contact_id=new.contact_id, activity_at=new.last_activity_at,
    )
    actions += [getattr(ConversationItem, name).set(value) for name, value in keys.items()]
    actions.append(ConversationItem.status.set(str(new.status)))
    return actions


def put_message(message: Message) -> TxOp:
    item = message_to_item(message)
    return lambda tx: tx.save(item, condition=MessageItem.pk.does_not_exist())


def put_client_key(message: Message) -> TxOp:
    """Claims the operator's client-generated id, so a retried reply is stored once."""
    key = MessageItem(
        pk=client_key_pk(message.tenant_id, message.conversation_id, message.client_id or ""), sk="client",
        kind="client_key", tenant_id=message.tenant_id, conversation_id=message.conversation_id,
        message_id=message.id,
    )
    return lambda tx: tx.save(key, condition=MessageItem.pk.does_not_exist())


def release_identity(conversation: Conversation, at: str) -> TxOp:
    """Resolving frees the contact's slot for a new conversation in this inbox, remembering which one it was (an
    inbox may reopen it when the contact writes again within a few days)."""
    item = ContactItem(conversation.tenant_id, identity_sk(conversation.inbox_id, conversation.source_id))
    return lambda tx: tx.update(
        item,
        actions=[ContactItem.open_conversation_id.remove(), ContactItem.last_conversation_id.set(conversation.id),
                 ContactItem.last_resolved_at.set(at)],
        condition=ContactItem.open_conversation_id == conversation.id,
    )


def claim_identity(conversation: Conversation) -> TxOp:
    """Reopening takes the slot back, unless the contact already has another open conversation here."""
    item = ContactItem(conversation.tenant_id, identity_sk(conversation.inbox_id, conversation.source_id))
    return lambda tx: tx.update(
        item,
        actions=[ContactItem.open_conversation_id.set(conversation.id)],
        condition=ContactItem.open_conversation_id.does_not_exist()
        | (ContactItem.open_conversation_id == conversation.id),
    )
