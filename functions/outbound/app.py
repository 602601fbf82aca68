"""Queue consumer: delivers replies to the platforms; transient failures are retried by SQS with back-off."""

from __future__ import annotations

import json

from aws_lambda_powertools import Logger

from switchboard.batches import process
from switchboard.wiring import services

logger = Logger()


def handler(event: dict, context: object) -> dict:
    # Imported on the first call, like everything behind services(): the module itself stays cheap to import.
    from switchboard.services.delivery import RequeueLater, RetryLater

    delivery = services().delivery

    def handle(record: dict) -> None:
        job = json.loads(record["body"])
        attempt = int(job.get("attempt_offset", 0)) + int(record.get("attributes", {}).get(
            "ApproximateReceiveCount", "1"))
        try:
            status = delivery.deliver(job["tenant_id"], job["conversation_id"], job["message_id"], attempt)
        except RequeueLater as paced:  # a new queue message: its receive count starts again, the attempt does not
            services().requeue_outbound(json.dumps({**job, "attempt_offset": attempt - 1}), paced.delay)
            return
        logger.info("delivery", extra={"message_id": job["message_id"], "status": str(status), "attempt": attempt})

    def on_error(record: dict, exc: Exception) -> None:
        if isinstance(exc, RetryLater):
            logger.warning("delivery will be retried", extra={"reason": str(exc), "delay": exc.delay})
            services().retry_outbound_later(record["receiptHandle"], exc.delay)
        else:
            logger.exception("delivery failed")

    return process(event.get("Records", []), handle, identifier=lambda record: record["messageId"], on_error=on_error)
