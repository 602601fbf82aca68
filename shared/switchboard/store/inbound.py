"""The ingest transaction: message, platform-id key, conversation and identity/contact in one write.

The key item's ``attribute_not_exists`` is the dedupe; the identity's condition keeps one open conversation per
contact per inbox even when two webhooks race.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum

from ..domain.contact import hidden_conversation_id
from ..domain.conversation import Conversation, Status
from ..domain.inbound import Profile
from ..domain.message import Message, MessageType
from .contact_cards import lookup_item, searchable
from .contacts import IdentityRecord
from .keys import contact_sk, conversation_index_keys, external_key_pk, identity_sk, verified_sk
from .models import UNASSIGNED, ContactItem, ConversationItem, MessageItem
from .writes import TransactionRunner, TxOp, put_message


class InboundOutcome(Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    RACE = "race"  # the identity or conversation changed since it was read: read again and retry


@dataclass(frozen=True)
class InboundWrite:
    message: Message
    identity: IdentityRecord | None  # as read before the write
    conversation: Conversation | None  # set when this message opens a new conversation
    contact_id: str
    profile: Profile
    received_at: str  # orders the conversation list; the message keeps the platform's own time
    reopen: bool = False  # the message continues an earlier, resolved conversation (message.conversation_id)
    linked: bool = False  # a new identity joins an existing contact (same verified phone or e-mail)
    verified: tuple[tuple[str, str], ...] = ()  # (kind, value) the platform vouches for: claimed for the contact
    hidden: bool = False  # the contact is blocked: the message is kept, and no conversation opens or moves
    activity: Message | None = None  # written with a new conversation: why it went to its team (routing rules)

    def kept_hidden(self) -> InboundWrite:
        """This write for a blocked contact: the message goes to the contact's hidden conversation, which no list
        indexes and no socket or notification follows; the identity and its conversations stay as they are."""
        message = dataclasses.replace(self.message, conversation_id=hidden_conversation_id(self.contact_id))
        return dataclasses.replace(self, message=message, conversation=None, reopen=False, hidden=True)


class InboundWriter:
    def __init__(self, runner: TransactionRunner) -> None:
        self._runner = runner

    def commit(self, write: InboundWrite) -> InboundOutcome:
        ops = [_external_key(write.message), put_message(write.message)]
        if write.hidden:
            ops.append(_still_blocked(write))
        else:
            ops += _contact_ops(write)
            ops.append(_open_conversation(write.conversation) if write.conversation else _touch_conversation(write))
            if write.conversation and write.activity:
                ops.append(put_message(write.activity))
        failed = self._runner.run(ops)
        if failed is None:
            return InboundOutcome.STORED
        return InboundOutcome.DUPLICATE if failed[0] else InboundOutcome.RACE


def _external_key(message: Message) -> TxOp:
    key = MessageItem(
        pk=external_key_pk(message.tenant_id, message.inbox_id or "", message.external_id or message.id),
        sk="ext", kind="ext_key", tenant_id=message.tenant_id, conversation_id=message.conversation_id,
        message_id=message.id,
    )
    return lambda tx: tx.save(key, condition=MessageItem.pk.does_not_exist())


def _still_blocked(write: InboundWrite) -> TxOp:
    """An unblock racing this message makes it retry, and then open a conversation as usual."""
    message = write.message
    key = identity_sk(message.inbox_id or "", message.source_id or "")
    return lambda tx: tx.condition_check(ContactItem, message.tenant_id, key,
                                         condition=ContactItem.blocked == True)  # noqa: E712 - a DynamoDB condition


def _contact_ops(write: InboundWrite) -> list[TxOp]:
    message, identity = write.message, write.identity
    tenant, inbox, source = message.tenant_id, message.inbox_id or "", message.source_id or ""
    if identity is None:
        return _new_identity_ops(write)
    item = ContactItem(tenant, identity_sk(inbox, source))
    if write.conversation is not None or write.reopen:  # the previous conversation was resolved: take the slot
        return [lambda tx: tx.update(
            item,
            actions=[ContactItem.open_conversation_id.set(message.conversation_id)],
            condition=ContactItem.open_conversation_id.does_not_exist(),
        )]
    return [lambda tx: tx.condition_check(
        ContactItem, tenant, identity_sk(inbox, source),
        condition=ContactItem.open_conversation_id == message.conversation_id,
    )]


def _new_identity_ops(write: InboundWrite) -> list[TxOp]:
    """The first message from this address in this inbox: an identity, and a new contact or a link to one."""
    message, profile = write.message, write.profile
    tenant, inbox, source = message.tenant_id, message.inbox_id or "", message.source_id or ""
    entry = {"inbox_id": inbox, "channel": message.channel, "source_id": source}
    ident = ContactItem(
        tenant, identity_sk(inbox, source), kind="identity", contact_id=write.contact_id, name=profile.name,
        inbox_id=inbox, channel=message.channel, source_id=source, open_conversation_id=message.conversation_id,
        created_at=message.created_at,
    )
    ops: list[TxOp] = [lambda tx: tx.save(ident, condition=ContactItem.sk.does_not_exist())]
    contact_key = ContactItem(tenant, contact_sk(write.contact_id))
    if write.linked:
        append = ContactItem.identities.set(ContactItem.identities.append([entry]))
        return ops + [lambda tx: tx.update(contact_key, actions=[append], condition=ContactItem.sk.exists())]
    contact = ContactItem(
        tenant, contact_sk(write.contact_id), kind="contact", contact_id=write.contact_id, name=profile.name,
        username=profile.username, phone=profile.phone, email=profile.email, language=profile.language,
        created_at=message.created_at, identities=[entry],
    )
    ops.append(lambda tx: tx.save(contact, condition=ContactItem.sk.does_not_exist()))
    for kind, value in write.verified:  # a verified address belongs to one contact: racing creators retry and link
        claim = ContactItem(tenant, verified_sk(kind, value), kind="verified", contact_id=write.contact_id)
        ops.append(lambda tx, claim=claim: tx.save(claim, condition=ContactItem.sk.does_not_exist()))
    for kind, value in searchable(profile.name, profile.phone, profile.email):  # search and merge suggestions
        lookup = lookup_item(tenant, kind, value, write.contact_id)
        ops.append(lambda tx, lookup=lookup: tx.save(lookup))
    return ops


def _open_conversation(conversation: Conversation) -> TxOp:
    keys = conversation_index_keys(
        tenant_id=conversation.tenant_id, conversation_id=conversation.id, status=str(conversation.status),
        assignee_id=conversation.assignee_id, team_id=conversation.team_id, inbox_id=conversation.inbox_id,
        contact_id=conversation.contact_id, activity_at=conversation.last_activity_at,
    )
    item = ConversationItem(
        conversation.tenant_id, conversation.id, inbox_id=conversation.inbox_id, contact_id=conversation.contact_id,
        channel=conversation.channel, status=str(conversation.status),
        assignee_id=conversation.assignee_id or UNASSIGNED, team_id=conversation.team_id or UNASSIGNED,
        created_at=conversation.created_at, last_activity_at=conversation.last_activity_at,
        last_message=conversation.last_message, unread_count=conversation.unread_count,
        waiting_since=conversation.waiting_since, version=1, contact_name=conversation.contact_name,
        source_id=conversation.source_id, **keys,
    )
    return lambda tx: tx.save(item, condition=ConversationItem.conversation_id.does_not_exist())


def _touch_conversation(write: InboundWrite) -> TxOp:
    """A customer message on an existing conversation: it becomes open (waking a snooze) and moves to the top."""
    message = write.message
    at, conversation_id, tenant = write.received_at, message.conversation_id, message.tenant_id
    opened = str(Status.OPEN)
    keys = {
        "tenant_status": f"{tenant}#{opened}",
        "activity_key": f"{at}#{conversation_id}",
        "status_key": f"{opened}#{at}#{conversation_id}",
    }
    actions = [getattr(ConversationItem, name).set(value) for name, value in keys.items()]
    actions += [
        ConversationItem.status.set(opened),
        ConversationItem.last_activity_at.set(at),
        ConversationItem.last_message.set(message.preview()),
        ConversationItem.version.add(1),
        ConversationItem.snoozed_until.remove(),
    ]
    if message.type is MessageType.OUTGOING:  # an echo: the business answered from the platform's own app
        actions += [ConversationItem.unread_count.set(0), ConversationItem.waiting_since.remove()]
    else:
        actions += [ConversationItem.unread_count.add(1),
                    ConversationItem.waiting_since.set(ConversationItem.waiting_since | at)]
    # Reopening takes a resolved conversation back; otherwise it must still be the contact's open one.
    condition = ConversationItem.conversation_id.exists() if write.reopen else (
        ConversationItem.status != str(Status.RESOLVED))
    return lambda tx: tx.update(ConversationItem(tenant, conversation_id), actions=actions, condition=condition)
