"""Reacting to committed changes: queue replies for delivery, start and stop snooze and task deadline timers, send
auto-replies, answer buttons."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..domain import clock
from ..domain.contact import is_hidden_conversation
from ..domain.conversation import Conversation, Status
from ..domain.message import DeliveryStatus, Message, MessageType
from ..store.streams import Change
from ..timers.snooze import SnoozeTimers
from .delivery import job


class ReactionService:
    def __init__(self, sqs_client: Any, outbound_queue_url: str, timers: SnoozeTimers,
                 answer_button: Callable[[dict], None], store_attachments: Callable[[Message], int],
                 complete_profile: Callable[[Conversation], bool] = lambda conversation: False,
                 distribute: Callable[[Conversation | None, Conversation | None], None] = lambda new, old: None,
                 project: Callable[[Change], None] = lambda change: None,
                 auto_reply: Callable[[Conversation], object] = lambda conversation: None,
                 on_task: Callable[[Change], None] = lambda change: None,
                 sla: Callable[[Conversation | None, Conversation | None], None] = lambda new, old: None,
                 now: Callable[[], datetime] = clock.now) -> None:
        self._sqs = sqs_client
        self._queue = outbound_queue_url
        self._timers = timers
        self._answer_button = answer_button
        self._store_attachments = store_attachments
        self._complete_profile = complete_profile
        self._distribute = distribute  # round robin: DistributionService.on_change
        self._project = project  # list postings and counters: ConversationLists.project
        self._auto_reply = auto_reply  # greeting / out-of-hours message: AutoReplyService.on_new_conversation
        self._on_task = on_task  # task deadline timers: TaskDeadlines.on_change
        self._sla = sla  # SLA clocks and their timers: SlaService.on_change
        self._now = now

    def react(self, change: Change) -> None:
        if change.table == "messages":
            self._on_message(change)
        elif change.table == "conversations":
            self._project(change)  # first: the lists show the change even if a reaction below must be retried
            self._on_conversation(change.new, change.old)
            self._distribute(change.new, change.old)
            self._sla(change.new, change.old)
            if change.event == "INSERT" and change.new is not None:
                self._auto_reply(change.new)  # after round robin: a conversation it handed to someone has a person
        elif change.table == "tasks":
            self._on_task(change)
        elif change.table == "events" and change.event == "INSERT":
            self._answer_button(change.raw_new)

    def _on_message(self, change: Change) -> None:
        message = change.new
        if change.event != "INSERT" or message is None:
            return
        if is_hidden_conversation(message.conversation_id):  # a blocked contact's: keep its files, notify nobody
            if message.attachments:
                self._store_attachments(message)
            return
        if message.type is MessageType.OUTGOING and message.status is DeliveryStatus.PENDING:
            self._sqs.send_message(QueueUrl=self._queue, MessageBody=json.dumps(job(message)))
        elif message.attachments:
            self._store_attachments(message)

    def _on_conversation(self, new: Conversation | None, old: Conversation | None) -> None:
        if old is None and new is not None and not new.contact_name:
            self._complete_profile(new)  # a platform that sends no names: ask its profile API once
        was_snoozed = old is not None and old.status is Status.SNOOZED
        is_snoozed = new is not None and new.status is Status.SNOOZED
        same_timer = was_snoozed and is_snoozed and old.snooze_version == new.snooze_version  # type: ignore[union-attr]
        if same_timer:
            return
        if is_snoozed and new.snoozed_until:  # type: ignore[union-attr]  # until the contact replies: no timer
            self._timers.start(new, self._now())  # type: ignore[arg-type]
        if was_snoozed:  # woken, unsnoozed, resolved or snoozed again: the old timer must not fire
            self._timers.stop(old.id, old.snooze_version)  # type: ignore[union-attr]
