"""Delivering an outgoing message to its channel, and recording ``sent`` or ``failed`` with a reason."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

from ..channels import channel_for
from ..channels.base import Channel, Credentials, OutboundAttachment, OutboundMessage
from ..domain import clock
from ..domain.directory import Inbox
from ..domain.errors import DeliveryFailed, NotFound
from ..domain.message import DeliveryStatus, Message, MessageType
from ..secrets import SecretStore
from ..store.contacts import ContactStore
from ..store.directory import DirectoryStore
from ..store.messages import MessageStore
from ..store.pacing import Pacer
from .widget import public_message

MAX_ATTEMPTS = 5
THREAD_HISTORY = 50  # messages whose ids an e-mail reply references


class RequeueLater(Exception):
    """The platform's send limit is reached: deliver this message after ``delay`` seconds. Not a failed attempt."""

    def __init__(self, delay: float) -> None:
        super().__init__(f"paced for {delay:.1f} s")
        self.delay = delay


class RetryLater(Exception):
    """A transient failure: deliver the queue message again after ``delay`` seconds."""

    def __init__(self, reason: str, delay: int) -> None:
        super().__init__(reason)
        self.delay = delay


def backoff_seconds(attempt: int, retry_after: float | None = None) -> int:
    """Exponential back-off (2, 4, 8, 16 s …, at most 15 minutes), or what the platform asked for if longer."""
    delay = min(2 ** attempt, 900)
    return int(max(delay, retry_after or 0))


class DeliveryService:
    def __init__(self, messages: MessageStore, directory: DirectoryStore, contacts: ContactStore,
                 secrets: SecretStore, api_bases: dict[str, str],
                 post_to_visitor: Callable[[Message, str], int],
                 channels: Callable[[str], Channel] = channel_for, pacer: Pacer | None = None,
                 public_webhook_base: str = "", link: Callable[[str, str | None], str] | None = None) -> None:
        self._messages = messages
        self._directory = directory
        self._contacts = contacts
        self._secrets = secrets
        self._api_bases = api_bases
        self._post_to_visitor = post_to_visitor
        self._channels = channels
        self._pacer = pacer
        self._public_webhook_base = public_webhook_base.rstrip("/")
        self._link = link

    def deliver(self, tenant_id: str, conversation_id: str, message_id: str, attempt: int) -> DeliveryStatus | None:
        """Deliver once. Returns the new status, None if there was nothing to do; raises RetryLater to retry."""
        try:
            message = self._messages.get(tenant_id, conversation_id, message_id)
        except NotFound:
            return None
        if message.type is not MessageType.OUTGOING or message.status is not DeliveryStatus.PENDING:
            return None  # a redelivered queue message: it was already handled
        try:
            self._check_reachable(message)
            external_id = self._send(message)
        except DeliveryFailed as failure:
            return self._failed(message, failure, attempt)
        self._messages.set_delivery(message, DeliveryStatus.SENT, external_id=external_id)
        if external_id:
            self._messages.remember_external_id(message, external_id)
            self._apply_parked_receipts(message, external_id)
        return DeliveryStatus.SENT

    def _apply_parked_receipts(self, message: Message, external_id: str) -> None:
        """Receipts that arrived before we recorded the send (fast platforms do that) apply now."""
        parked = self._messages.parked_receipts(message.tenant_id, message.inbox_id or "", external_id)
        for status, reason in sorted(parked, key=lambda receipt: list(DeliveryStatus).index(receipt[0])):
            self._messages.set_delivery(message, status, reason=reason)

    def _check_reachable(self, message: Message) -> None:
        identity = self._contacts.identity(message.tenant_id, message.inbox_id or "", message.source_id or "")
        if identity is not None and not identity.reachable:
            raise DeliveryFailed(
                "The customer has blocked this channel; they can no longer receive messages here.", transient=False)

    def _send(self, message: Message) -> str | None:
        inbox = self._directory.inbox(message.inbox_id or "")
        if inbox.channel == "widget":
            # With no tab open, the reply waits in the visitor's history for their next visit.
            self._post_to_visitor(message, message.source_id or "")
            return None
        channel = self._channels(inbox.channel)
        self._pace(message, channel)
        credentials = self._with_callbacks(inbox, self._secrets.credentials(inbox))
        outbound = OutboundMessage(source_id=message.source_id or "", text=message.text, message_id=message.id,
                                   reply_to_external_id=message.reply_to_external_id,
                                   attachments=self._files(message), **self._threading(message))
        return channel.send(outbound, credentials, self._api_bases.get(inbox.channel, "")).external_id

    def _files(self, message: Message) -> tuple[OutboundAttachment, ...]:
        """The operator's uploads, as short-lived links the platform (or the adapter) downloads."""
        if self._link is None:
            return ()
        return tuple(
            OutboundAttachment(kind=str(a.kind), url=self._link(a.meta["key"], a.name), name=a.name, mime=a.mime,
                               size=a.size)
            for a in message.attachments if a.meta.get("key")
        )

    def _pace(self, message: Message, channel: Channel) -> None:
        """Respect the platform's send limits per chat and per account before calling it."""
        limits = channel.capabilities
        if self._pacer is None or not (limits.chat_interval_seconds or limits.account_per_second):
            return
        wait = self._pacer.claim(message.tenant_id, message.inbox_id or "", message.source_id or "",
                                 chat_interval=limits.chat_interval_seconds,
                                 account_per_second=limits.account_per_second)
        if wait > 0:
            raise RequeueLater(wait)

    def _with_callbacks(self, inbox: Inbox, credentials: Credentials) -> Credentials:
        """Twilio reports delivery to a callback URL given with each send: our own webhook for the inbox."""
        if inbox.channel != "twilio" or credentials.extra.get("status_callback_url") or not self._public_webhook_base:
            return credentials
        url = f"{self._public_webhook_base}/webhooks/twilio/{inbox.id}"
        return dataclasses.replace(credentials, extra={**credentials.extra, "status_callback_url": url})

    def _threading(self, message: Message) -> dict:
        """E-mail replies carry the thread's subject and Message-IDs, so the customer's client threads them."""
        if message.channel != "email":
            return {}
        history, _ = self._messages.page(message.tenant_id, message.conversation_id, limit=THREAD_HISTORY,
                                         cursor=None)
        keys = tuple(m.external_id for m in history if m.external_id and m.id != message.id)
        subjects = [m.meta["subject"] for m in history if m.type is MessageType.INCOMING and m.meta.get("subject")]
        return {"thread_keys": keys, "subject": subjects[-1] if subjects else None}

    def _failed(self, message: Message, failure: DeliveryFailed, attempt: int) -> DeliveryStatus:
        if failure.unreachable:
            self._contacts.set_reachable(message.tenant_id, message.inbox_id or "", message.source_id or "", False,
                                         clock.iso(clock.now()))
        if failure.transient and attempt < MAX_ATTEMPTS:
            raise RetryLater(failure.detail, backoff_seconds(attempt, failure.retry_after))
        reason = failure.detail
        if failure.transient:
            reason = f"Not delivered after {attempt} attempts: {failure.detail}"
        self._messages.set_delivery(message, DeliveryStatus.FAILED, reason=reason)
        return DeliveryStatus.FAILED


def visitor_frame(message: Message) -> bytes:
    return json.dumps({"type": "message.created", "message": public_message(message)}).encode()


def job(message: Message) -> dict[str, Any]:
    """The queue message that asks for ``message`` to be delivered."""
    return {"tenant_id": message.tenant_id, "conversation_id": message.conversation_id, "message_id": message.id}
