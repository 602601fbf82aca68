"""Reading DynamoDB stream records back into domain objects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..domain.conversation import Conversation
from ..domain.message import Message
from ..domain.tasks import Task
from .mapping import conversation_from_item, message_from_item
from .models import ConversationItem, MessageItem, TaskItem
from .tasks import task_from_item


@dataclass(frozen=True)
class Change:
    table: str  # "conversations" | "messages" | "events" | "tasks"
    event: str  # INSERT | MODIFY | REMOVE
    new: Any
    old: Any
    raw_new: dict
    sequence: str = ""  # the record's stream sequence number: orders the records of one item, names a retry


def parse_record(record: dict) -> Change | None:
    """The change a stream record describes, or None for items nobody reacts to (dedupe keys, pacing counters)."""
    table = _table_of(record.get("eventSourceARN", ""))
    data = record.get("dynamodb", {})
    new_image, old_image = data.get("NewImage"), data.get("OldImage")
    if table == "conversations":
        return Change("conversations", record["eventName"], _conversation(new_image), _conversation(old_image),
                      new_image or {}, data.get("SequenceNumber", ""))
    image = new_image or old_image or {}
    kind = image.get("kind", {}).get("S") or ("message" if "type" in image else None)
    if table == "tasks":  # counters and client-id keys share the table; only tasks matter
        return Change("tasks", record["eventName"], _task(new_image), _task(old_image), new_image or {},
                      data.get("SequenceNumber", "")) if kind == "task" else None
    if kind == "message":
        return Change("messages", record["eventName"], _message(new_image), _message(old_image), new_image or {})
    if kind == "event":
        return Change("events", record["eventName"], new_image, old_image, new_image or {})
    return None


def _table_of(arn: str) -> str:
    from .models import ConversationItem as C

    name = arn.split(":table/", 1)[-1].split("/stream/", 1)[0]
    if name == TaskItem.Meta.table_name:
        return "tasks"
    return "conversations" if name == C.Meta.table_name else "messages"


def _conversation(image: dict | None) -> Conversation | None:
    return conversation_from_item(ConversationItem.from_raw_data(image)) if image else None


def _message(image: dict | None) -> Message | None:
    return message_from_item(MessageItem.from_raw_data(image)) if image else None


def _task(image: dict | None) -> Task | None:
    return task_from_item(TaskItem.from_raw_data(image)) if image else None
