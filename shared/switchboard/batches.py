"""Partial batch responses for stream and queue consumers: one bad record never blocks the others."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


def process(records: Iterable[dict], handle: Callable[[dict], None], identifier: Callable[[dict], str],
            on_error: Callable[[dict, Exception], None]) -> dict[str, Any]:
    """Handle records in order; report the failed ones so only they are retried (``ReportBatchItemFailures``).

    For streams the retry restarts from the first failure, so processing stops there to keep per-key order.
    """
    failures: list[dict[str, str]] = []
    for record in records:
        try:
            handle(record)
        except Exception as exc:  # noqa: BLE001 - every failure is reported and retried, never dropped
            on_error(record, exc)
            failures.append({"itemIdentifier": identifier(record)})
            if record.get("eventSource") == "aws:dynamodb":
                break
    return {"batchItemFailures": failures}


def process_stream(event: dict, consume: Callable[[Any], None], log_failure: Callable[..., None]) -> dict[str, Any]:
    """A DynamoDB stream batch: each record parsed into a change (dedupe keys are skipped) and consumed in order."""
    from .store.streams import parse_record

    def handle(record: dict) -> None:
        change = parse_record(record)
        if change is not None:
            consume(change)

    return process(
        event.get("Records", []), handle,
        identifier=lambda record: record["dynamodb"]["SequenceNumber"],
        on_error=lambda record, exc: log_failure("stream record failed", extra={"event_id": record.get("eventID")}),
    )
