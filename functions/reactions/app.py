"""Stream consumer: queues replies for delivery, starts and stops snooze timers, answers button presses."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from switchboard.batches import process_stream
from switchboard.wiring import services

logger = Logger()


def handler(event: dict, context: object) -> dict:
    return process_stream(event, services().reactions.react, logger.exception)
