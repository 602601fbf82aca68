"""Sending an inbox's auto-reply when a conversation opens (from the stream), and changing the auto-reply settings.

The reply is an outgoing message authored "Automation", stored with the conversation change and a once-only key in
one transaction; the outbound pipeline then delivers it like any reply. Nothing is sent to a blocked contact or while
an operator handles the conversation, and never twice, however often the stream delivers the new conversation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime

from ..domain import clock
from ..domain.auto_replies import AutoReplies, AutoReply, reply_for
from ..domain.conversation import Conversation
from ..domain.errors import NotFound
from ..domain.ids import ulid
from ..domain.message import DeliveryStatus, Message, MessageType
from ..domain.settings import automation_held
from ..store.auto_replies import claim_auto_reply
from ..store.business_hours import BusinessHoursStore
from ..store.contacts import ContactStore
from ..store.conversations import ConversationStore
from ..store.directory import DirectoryStore
from ..store.models import ContactItem
from ..store.writes import ConditionFailed, ConversationWriter, VersionConflict, put_message

AUTOMATION = "Automation"
MAX_ATTEMPTS = 5
SETTING = "auto_replies"  # the key in an inbox's settings


class AutoReplyService:
    def __init__(self, directory: DirectoryStore, hours: BusinessHoursStore, contacts: ContactStore,
                 conversations: ConversationStore, writer: ConversationWriter,
                 now: Callable[[], datetime] = clock.now) -> None:
        self._directory = directory
        self._hours = hours
        self._contacts = contacts
        self._conversations = conversations
        self._writer = writer
        self._now = now

    def on_new_conversation(self, conversation: Conversation) -> Message | None:
        """Send the inbox's auto-reply for a conversation that just opened; the message, or None if none went out
        (no auto-reply set, a blocked contact, an operator handling it, or already sent)."""
        settings = AutoReplies.from_stored(self._directory.inbox(conversation.inbox_id).settings.get(SETTING))
        if not settings.any_enabled:
            return None
        contact = self._unblocked_contact(conversation)
        if contact is None:
            return None
        now, tenant_id = self._now(), conversation.tenant_id
        reply = reply_for(settings, self._hours.get(tenant_id), now, self._hours.zone(tenant_id), contact.language)
        return self._send(conversation, reply) if reply is not None else None

    def _unblocked_contact(self, conversation: Conversation) -> ContactItem | None:
        """The contact's card, or None when the contact was blocked (or merged away) since the conversation opened."""
        try:
            contact = self._contacts.contact(conversation.tenant_id, conversation.contact_id)
        except NotFound:
            return None
        return None if contact.blocked else contact

    def _send(self, conversation: Conversation, reply: AutoReply) -> Message | None:
        """Store the reply with the conversation's change, if automation may speak now and nobody sent it yet."""
        for _ in range(MAX_ATTEMPTS):
            current = self._conversations.get(conversation.tenant_id, conversation.id)
            if automation_held(current, self._now()):
                return None
            message = self._message(current, reply)
            after = dataclasses.replace(current, last_activity_at=message.created_at, last_message=message.preview())
            try:
                self._writer.save(current, after, [put_message(message), claim_auto_reply(current, message.id)])
            except VersionConflict:  # an operator or the contact changed it meanwhile: look again
                continue
            except ConditionFailed:  # the key is taken: a retry or a racing consumer sent it already
                return None
            return message
        raise VersionConflict(conversation.id)  # the stream retries the record

    def _message(self, conversation: Conversation, reply: AutoReply) -> Message:
        return Message(
            tenant_id=conversation.tenant_id, conversation_id=conversation.id, id=ulid(), type=MessageType.OUTGOING,
            created_at=clock.iso(self._now()), text=reply.text, author_name=AUTOMATION,
            status=DeliveryStatus.PENDING, inbox_id=conversation.inbox_id, channel=conversation.channel,
            source_id=conversation.source_id, meta={"auto_reply": reply.kind, "language": reply.language},
        )
