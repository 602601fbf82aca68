"""Storing what a channel's webhook told us: new messages, edits, button presses, reachability."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from ..domain import clock
from ..domain.contact import normalize_email, normalize_phone, verified_addresses
from ..domain.conversation import Conversation, Status
from ..domain.csat import parse_csat
from ..domain.directory import Inbox
from ..domain.ids import ulid
from ..domain.inbound import (
    WATERMARK_PREFIX,
    ButtonPressed,
    DeliveryReceipt,
    InboundEvent,
    InboundMessage,
    MessageDeleted,
    MessageEdited,
    Profile,
    ReachabilityChanged,
    ReactionChanged,
)
from ..domain.message import DeliveryStatus, Message, MessageType
from ..domain.routing import Routed
from ..store.contacts import ContactStore, IdentityRecord
from ..store.conversations import ConversationStore
from ..store.inbound import InboundOutcome, InboundWrite, InboundWriter
from ..store.messages import MessageStore

Route = Callable[[Inbox, InboundMessage, str | None], Routed | None]  # services.distribution.Router.route

MAX_ATTEMPTS = 4
MAX_THREAD_KEYS = 5  # references looked up for threading; long chains repeat the same conversation
ECHO_AUTHOR = "Sent from the platform's app"
ECHO_WINDOW = 20  # recent messages searched for the reply an echo repeats


@dataclass(frozen=True)
class IngestResult:
    stored: int = 0
    duplicates: int = 0
    updated: int = 0
    ignored: int = 0
    hidden: int = 0  # stored for a blocked contact: in its timeline only (the widget then hides itself)

    def __add__(self, other: IngestResult) -> IngestResult:
        pairs = zip(dataclasses.astuple(self), dataclasses.astuple(other), strict=True)
        return IngestResult(*(a + b for a, b in pairs))


class IngestService:
    def __init__(self, contacts: ContactStore, messages: MessageStore, writer: InboundWriter,
                 conversations: ConversationStore, route: Route | None = None) -> None:
        self._contacts = contacts
        self._messages = messages
        self._writer = writer
        self._conversations = conversations
        self._route = route

    def handle(self, inbox: Inbox, events: list[InboundEvent], received_at: str) -> IngestResult:
        total = IngestResult()
        for event in events:
            total = total + self._dispatch(inbox, event, received_at)
        return total

    def _dispatch(self, inbox: Inbox, event: InboundEvent, received_at: str) -> IngestResult:
        handlers = {
            InboundMessage: lambda: self.store_message(inbox, event, received_at),
            MessageEdited: lambda: self._edit(inbox, event, received_at),
            ButtonPressed: lambda: self._button(inbox, event),
            ReachabilityChanged: lambda: self._reachability(inbox, event),
            DeliveryReceipt: lambda: self._receipt(inbox, event),
            MessageDeleted: lambda: self._deleted(inbox, event),
            ReactionChanged: lambda: self._reaction(inbox, event),
        }
        handler = handlers.get(type(event))
        return handler() if handler else IngestResult(ignored=1)

    def _reachability(self, inbox: Inbox, event: ReachabilityChanged) -> IngestResult:
        changed = self._contacts.set_reachable(inbox.tenant_id, inbox.id, event.source_id, event.reachable, event.at)
        return IngestResult(updated=int(changed), ignored=int(not changed))

    def _receipt(self, inbox: Inbox, event: DeliveryReceipt) -> IngestResult:
        """Move our message's status forward; a receipt that outran our record of the send waits for it."""
        status = DeliveryStatus(event.status)
        if event.external_id.startswith(WATERMARK_PREFIX):
            return self._watermark(inbox, event, status)
        found = self._messages.find_by_external_id(inbox.tenant_id, inbox.id, event.external_id)
        if found is None:
            self._messages.park_receipt(inbox.tenant_id, inbox.id, event.external_id, status, event.at, event.reason)
            return IngestResult(ignored=1)
        message = self._messages.get(inbox.tenant_id, *found)
        changed = self._messages.set_delivery(message, status, reason=event.reason)
        return IngestResult(updated=int(changed), duplicates=int(not changed))

    def _watermark(self, inbox: Inbox, event: DeliveryReceipt, status: DeliveryStatus) -> IngestResult:
        """Messenger and Instagram say "read everything before this time", naming no message: apply it to our
        recent outgoing messages in the contact's open conversation."""
        watermark = event.external_id.removeprefix(WATERMARK_PREFIX)
        identity = self._contacts.identity(inbox.tenant_id, inbox.id, event.source_id or "")
        if identity is None or identity.open_conversation_id is None:
            return IngestResult(ignored=1)
        recent, _ = self._messages.page(inbox.tenant_id, identity.open_conversation_id, limit=50, cursor=None)
        changed = sum(
            self._messages.set_delivery(message, status)
            for message in recent
            if message.type is MessageType.OUTGOING and message.created_at <= watermark
        )
        return IngestResult(updated=changed, duplicates=int(not changed))

    def _deleted(self, inbox: Inbox, event: MessageDeleted) -> IngestResult:
        found = self._messages.find_by_external_id(inbox.tenant_id, inbox.id, event.external_id)
        changed = found is not None and self._messages.mark_deleted(inbox.tenant_id, *found, event.at)
        return IngestResult(updated=int(changed), ignored=int(not changed))

    def _reaction(self, inbox: Inbox, event: ReactionChanged) -> IngestResult:
        found = self._messages.find_by_external_id(inbox.tenant_id, inbox.id, event.external_id)
        changed = found is not None and self._messages.set_reaction(
            inbox.tenant_id, *found, event.source_id, event.emoji)
        return IngestResult(updated=int(changed), ignored=int(not changed))

    def store_message(self, inbox: Inbox, event: InboundMessage, received_at: str) -> IngestResult:
        """Commit the message with its conversation and contact; retried when a concurrent webhook raced us."""
        for _ in range(MAX_ATTEMPTS):
            identity = self._contacts.identity(inbox.tenant_id, inbox.id, event.source_id)
            if event.echo and self._is_our_own_send(inbox, event, identity):
                return IngestResult(duplicates=1)
            plan = _plan(inbox, event, identity, received_at)
            if identity is not None and identity.blocked:
                plan = plan.kept_hidden()  # kept for the contact's timeline; no conversation, nobody notified
            if identity is None and plan.verified:
                plan = self._link_to_known_contact(inbox, plan)
            if plan.conversation is not None and identity is not None and event.thread_keys:
                plan = self._thread_into_earlier(inbox, event, plan)
            plan = self._routed(inbox, event, plan)
            outcome = self._writer.commit(plan)
            if outcome is InboundOutcome.STORED:
                return IngestResult(stored=1, hidden=int(plan.hidden))
            if outcome is InboundOutcome.DUPLICATE:
                return IngestResult(duplicates=1)
        raise RuntimeError(f"Could not store message {event.external_id} after {MAX_ATTEMPTS} attempts")

    def _routed(self, inbox: Inbox, event: InboundMessage, plan: InboundWrite) -> InboundWrite:
        """A new conversation goes to the team the routing rules choose (else the inbox's default team), with an
        activity line saying which rule sent it there. The rules are cached: no extra DynamoDB call when warm."""
        if plan.conversation is None or self._route is None:
            return plan
        routed = self._route(inbox, event, plan.conversation.contact_name)
        if routed is None:
            return plan
        conversation = dataclasses.replace(plan.conversation, team_id=routed.team_id)
        activity = Message(
            tenant_id=inbox.tenant_id, conversation_id=conversation.id, id=ulid(), type=MessageType.ACTIVITY,
            created_at=plan.received_at, text=routed.note, inbox_id=inbox.id, channel=inbox.channel,
            source_id=event.source_id,
        )
        return dataclasses.replace(plan, conversation=conversation, activity=activity)

    def _is_our_own_send(self, inbox: Inbox, event: InboundMessage, identity: IdentityRecord | None) -> bool:
        """An echo of a reply we are sending right now (the platform echoed it before its send answer reached us):
        the same text, to the same contact, not yet given a platform id. It is ours; keep its id, store nothing."""
        if identity is None or identity.open_conversation_id is None:
            return False
        recent, _ = self._messages.page(inbox.tenant_id, identity.open_conversation_id, limit=ECHO_WINDOW,
                                        cursor=None)
        for message in reversed(recent):
            if (message.type is MessageType.OUTGOING and message.author_name != ECHO_AUTHOR
                    and message.external_id in (None, event.external_id) and message.text == event.text):
                self._messages.remember_external_id(message, event.external_id)
                return True
        return False

    def _link_to_known_contact(self, inbox: Inbox, plan: InboundWrite) -> InboundWrite:
        """A new address the platform vouches for, already verified for a contact (say, the same phone on WhatsApp
        and SMS), joins that contact instead of creating a second one."""
        for kind, value in plan.verified:
            contact_id = self._contacts.claimed(inbox.tenant_id, kind, value)
            if contact_id:
                message = dataclasses.replace(plan.message, author_id=contact_id)
                conversation = plan.conversation and dataclasses.replace(plan.conversation, contact_id=contact_id)
                return dataclasses.replace(plan, contact_id=contact_id, message=message, conversation=conversation,
                                           linked=True, verified=())
        return plan

    def _thread_into_earlier(self, inbox: Inbox, event: InboundMessage, plan: InboundWrite) -> InboundWrite:
        """A reply to an earlier thread (e-mail's In-Reply-To/References) reopens that conversation, if it was the
        same contact's, instead of starting a new one."""
        for key in reversed(event.thread_keys[-MAX_THREAD_KEYS:]):  # the most recent reference first
            found = self._messages.find_by_external_id(inbox.tenant_id, inbox.id, key)
            if found is None:
                continue
            earlier = self._conversations.get(inbox.tenant_id, found[0])
            if earlier.contact_id == plan.contact_id and earlier.source_id == event.source_id:
                message = dataclasses.replace(plan.message, conversation_id=earlier.id)
                return dataclasses.replace(plan, message=message, conversation=None, reopen=True)
        return plan

    def _edit(self, inbox: Inbox, event: MessageEdited, received_at: str) -> IngestResult:
        found = self._messages.find_by_external_id(inbox.tenant_id, inbox.id, event.external_id)
        if found is None:  # the edit overtook the original: store it as the message, marked edited
            return self.store_message(inbox, event.as_new_message(), received_at)
        conversation_id, message_id = found
        changed = self._messages.apply_edit(
            inbox.tenant_id, conversation_id, message_id, text=event.text, attachments=list(event.attachments),
            edited_at=event.edited_at,
        )
        return IngestResult(updated=int(changed), duplicates=int(not changed))

    def _button(self, inbox: Inbox, event: ButtonPressed) -> IngestResult:
        first = self._messages.record_event_once(
            inbox.tenant_id, inbox.id, event.event_id, kind="button", data=event.data, source_id=event.source_id,
            on_external_id=event.on_external_id, at=event.at, channel=inbox.channel, **_rating(event.data),
        )
        return IngestResult(stored=int(first), duplicates=int(not first))


def _rating(data: str) -> dict:
    csat = parse_csat(data)
    return {"csat_rating": csat[0], "csat_subject": csat[1]} if csat else {}


def _plan(inbox: Inbox, event: InboundMessage, identity: IdentityRecord | None, received_at: str) -> InboundWrite:
    sent = clock.parse_iso(event.sent_at)
    message_id = ulid(int(sent.timestamp() * 1000))
    reopened = _reopens(inbox, identity, received_at)
    opens_new = (identity is None or identity.open_conversation_id is None) and reopened is None
    conversation_id = ulid() if opens_new else reopened or identity.open_conversation_id  # type: ignore[union-attr]
    contact_id = identity.contact_id if identity else ulid()
    message = Message(
        tenant_id=inbox.tenant_id, conversation_id=conversation_id, id=message_id,
        type=MessageType.OUTGOING if event.echo else MessageType.INCOMING,
        status=DeliveryStatus.SENT if event.echo else None,
        created_at=event.sent_at, text=event.text, attachments=list(event.attachments),
        author_id=None if event.echo else contact_id,
        author_name=ECHO_AUTHOR if event.echo else (event.author_name or event.profile.name),
        external_id=event.external_id,
        reply_to_external_id=event.reply_to_external_id, edited_at=event.edited_at,
        forwarded_from=event.forwarded_from, meta=dict(event.meta), inbox_id=inbox.id, channel=inbox.channel,
        source_id=event.source_id,
    )
    conversation = None
    if opens_new:
        conversation = Conversation(
            tenant_id=inbox.tenant_id, id=conversation_id, inbox_id=inbox.id, contact_id=contact_id,
            channel=inbox.channel, status=Status.OPEN, team_id=inbox.default_team_id, created_at=received_at,
            last_activity_at=received_at, last_message=message.preview(), unread_count=0 if event.echo else 1,
            waiting_since=None if event.echo else received_at,
            contact_name=(identity.contact_name if identity else None) or event.profile.name,
            source_id=event.source_id,
        )
    return InboundWrite(
        message=message, identity=identity, conversation=conversation, contact_id=contact_id,
        profile=_normalized(event.profile), received_at=received_at, reopen=reopened is not None,
        verified=verified_addresses(inbox.channel, event) if identity is None else (),
    )


def _reopens(inbox: Inbox, identity: IdentityRecord | None, received_at: str) -> str | None:
    """The contact's last conversation, when the inbox reopens a conversation resolved at most N days ago instead
    of starting a new one (inbox setting ``reopen_within_days``)."""
    days = inbox.settings.get("reopen_within_days")
    if (not days or identity is None or identity.open_conversation_id is not None
            or not identity.last_conversation_id or not identity.last_resolved_at):
        return None
    age = clock.parse_iso(received_at) - clock.parse_iso(identity.last_resolved_at)
    return identity.last_conversation_id if age <= timedelta(days=days) else None


def _normalized(profile: Profile) -> Profile:
    return dataclasses.replace(profile, phone=normalize_phone(profile.phone) or profile.phone,
                               email=normalize_email(profile.email) or profile.email)
