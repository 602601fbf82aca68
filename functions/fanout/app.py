"""Stream consumer: sends conversation and message changes to the operators' sockets."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from switchboard.batches import process
from switchboard.store.streams import parse_record
from switchboard.wiring import services

logger = Logger()


def handler(event: dict, context: object) -> dict:
    fanout = services().fanout

    def handle(record: dict) -> None:
        change = parse_record(record)
        if change is not None:
            fanout.publish([change])

    return process(
        event.get("Records", []), handle,
        identifier=lambda record: record["dynamodb"]["SequenceNumber"],
        on_error=lambda record, exc: logger.exception("fanout failed", extra={"event_id": record.get("eventID")}),
    )
