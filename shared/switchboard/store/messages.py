"""Reading and updating messages: pages of a conversation, lookups by platform id, delivery status."""

from __future__ import annotations

import time

from pynamodb.exceptions import PutError, UpdateError

from ..domain.errors import NotFound
from ..domain.message import DeliveryStatus, Message, earlier_statuses
from .keys import client_key_pk, event_key_pk, external_key_pk, message_pk
from .mapping import message_from_item
from .models import MessageItem
from .pages import decode_cursor, encode_cursor

EVENT_KEY_TTL_SECONDS = 7 * 24 * 3600


class MessageStore:
    def get(self, tenant_id: str, conversation_id: str, message_id: str) -> Message:
        try:
            item = MessageItem.get(message_pk(tenant_id, conversation_id), message_id, consistent_read=True)
        except MessageItem.DoesNotExist:
            raise NotFound("No such message.") from None
        return message_from_item(item)

    def page(
        self, tenant_id: str, conversation_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[Message], str | None]:
        """The newest ``limit`` messages before the cursor, returned oldest first; the cursor leads further back."""
        start = decode_cursor(cursor)
        pk = message_pk(tenant_id, conversation_id)
        if start is not None:
            start = {"pk": {"S": pk}, "sk": {"S": str(start)}}
        query = MessageItem.query(pk, scan_index_forward=False, limit=limit, last_evaluated_key=start)
        items = list(query)
        more = query.last_evaluated_key is not None and len(items) == limit
        messages = [message_from_item(item) for item in reversed(items)]
        return messages, encode_cursor(items[-1].sk) if more and items else None

    def find_by_external_id(self, tenant_id: str, inbox_id: str, external_id: str) -> tuple[str, str] | None:
        """(conversation id, message id) of the message the platform knows as ``external_id``."""
        try:
            key = MessageItem.get(external_key_pk(tenant_id, inbox_id, external_id), "ext")
        except MessageItem.DoesNotExist:
            return None
        return key.conversation_id or "", key.message_id or ""

    def find_by_client_id(self, tenant_id: str, conversation_id: str, client_id: str) -> Message | None:
        """The message an operator's client already stored under ``client_id`` (a retried request)."""
        try:
            key = MessageItem.get(client_key_pk(tenant_id, conversation_id, client_id), "client", consistent_read=True)
        except MessageItem.DoesNotExist:
            return None
        return self.get(tenant_id, conversation_id, key.message_id or "")

    def set_delivery(
        self, message: Message, status: DeliveryStatus, *, external_id: str | None = None, reason: str | None = None
    ) -> bool:
        """Move the delivery status forward; False if the message is already at or past ``status``."""
        actions = [MessageItem.status.set(str(status))]
        if external_id:
            actions.append(MessageItem.external_id.set(external_id))
        if reason:
            actions.append(MessageItem.failure_reason.set(reason))
        allowed = [str(s) for s in earlier_statuses(status)]
        try:
            MessageItem(message_pk(message.tenant_id, message.conversation_id), message.id).update(
                actions=actions, condition=MessageItem.status.is_in(*allowed)
            )
        except UpdateError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def remember_external_id(self, message: Message, external_id: str) -> None:
        """Map an outgoing message's platform id back to it, so receipts and edits find it."""
        MessageItem(
            pk=external_key_pk(message.tenant_id, message.inbox_id or "", external_id),
            sk="ext",
            kind="ext_key",
            tenant_id=message.tenant_id,
            conversation_id=message.conversation_id,
            message_id=message.id,
        ).save()

    def park_receipt(self, tenant_id: str, inbox_id: str, external_id: str, status: DeliveryStatus, at: str,
                     reason: str | None) -> None:
        """Keep a receipt that overtook our own record of the send; ``parked_receipts`` hands it over later."""
        MessageItem(
            pk=external_key_pk(tenant_id, inbox_id, external_id), sk=f"receipt#{status}", kind="receipt",
            tenant_id=tenant_id, status=str(status), created_at=at, failure_reason=reason,
            expires_at=int(time.time()) + EVENT_KEY_TTL_SECONDS,
        ).save()

    def parked_receipts(self, tenant_id: str, inbox_id: str,
                        external_id: str) -> list[tuple[DeliveryStatus, str | None]]:
        pk = external_key_pk(tenant_id, inbox_id, external_id)
        query = MessageItem.query(pk, MessageItem.sk.startswith("receipt#"))
        return [(DeliveryStatus(item.status), item.failure_reason) for item in query]

    def set_attachments(self, message: Message, attachments: list) -> bool:
        """Record what became of each attachment (stored under a key, or refused with a reason)."""
        return self._update_if_exists(message.tenant_id, message.conversation_id, message.id, [
            MessageItem.attachments.set([attachment.to_dict() for attachment in attachments])])

    def mark_deleted(self, tenant_id: str, conversation_id: str, message_id: str, at: str) -> bool:
        """The customer unsent the message: its content goes, a trace that it existed stays."""
        return self._update_if_exists(tenant_id, conversation_id, message_id, [
            MessageItem.text.remove(), MessageItem.attachments.remove(), MessageItem.deleted_at.set(at)])

    def set_reaction(self, tenant_id: str, conversation_id: str, message_id: str, who: str,
                     emoji: str | None) -> bool:
        message = self.get(tenant_id, conversation_id, message_id)
        reactions = dict(message.meta.get("reactions", {}))
        if emoji:
            reactions[who] = emoji
        else:
            reactions.pop(who, None)
        meta = {**message.meta, "reactions": reactions}
        return self._update_if_exists(tenant_id, conversation_id, message_id, [MessageItem.meta.set(meta)])

    def _update_if_exists(self, tenant_id: str, conversation_id: str, message_id: str, actions: list) -> bool:
        try:
            MessageItem(message_pk(tenant_id, conversation_id), message_id).update(
                actions=actions, condition=MessageItem.pk.exists())
        except UpdateError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def record_event_once(self, tenant_id: str, inbox_id: str, event_id: str, **attributes: object) -> bool:
        """Store a non-message event (e.g. a button press) once per platform event id; False on a repeat."""
        item = MessageItem(
            pk=event_key_pk(tenant_id, inbox_id, event_id),
            sk="event",
            kind="event",
            tenant_id=tenant_id,
            inbox_id=inbox_id,
            meta=dict(attributes),
            created_at=str(attributes.get("at", "")),
            expires_at=int(time.time()) + EVENT_KEY_TTL_SECONDS,
        )
        try:
            item.save(condition=MessageItem.pk.does_not_exist())
        except PutError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True


    def apply_edit(self, tenant_id: str, conversation_id: str, message_id: str, *, text: str, attachments: list,
                    edited_at: str) -> bool:
        """Replace the text of an incoming message; an older edit arriving late never overwrites a newer one."""
        item = MessageItem(message_pk(tenant_id, conversation_id), message_id)
        condition = MessageItem.pk.exists() & (
            MessageItem.edited_at.does_not_exist() | (MessageItem.edited_at < edited_at)
        )
        actions = [MessageItem.text.set(text or None) if text else MessageItem.text.remove(),
                   MessageItem.edited_at.set(edited_at)]
        if attachments:
            actions.append(MessageItem.attachments.set([a.to_dict() for a in attachments]))
        try:
            item.update(actions=actions, condition=condition)
        except UpdateError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True


def _condition_failed(exc: Exception) -> bool:
    cause = getattr(exc, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"

