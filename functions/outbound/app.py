"""Queue consumer: delivers replies to the platforms; transient failures are retried by SQS with back-off."""

from __future__ import annotations

import json

from aws_lambda_powertools import Logger

from switchboard.batches import process
from switchboard.services.delivery import RetryLater
from switchboard.wiring import services

logger = Logger()


def handler(event: dict, context: object) -> dict:
    delivery = services().delivery

    def handle(record: dict) -> None:
        job = json.loads(record["body"])
        attempt = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
        status = delivery.deliver(job["tenant_id"], job["conversation_id"], job["message_id"], attempt)
        logger.info("delivery", extra={"message_id": job["message_id"], "status": str(status), "attempt": attempt})

    def on_error(record: dict, exc: Exception) -> None:
        if isinstance(exc, RetryLater):
            logger.warning("delivery will be retried", extra={"reason": str(exc), "delay": exc.delay})
            services().retry_outbound_later(record["receiptHandle"], exc.delay)
        else:
            logger.exception("delivery failed")

    return process(event.get("Records", []), handle, identifier=lambda record: record["messageId"], on_error=on_error)
