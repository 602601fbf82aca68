"""Stream consumer: queues replies for delivery, starts and stops snooze timers, answers button presses, and notifies
operators."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from switchboard.batches import process_stream
from switchboard.wiring import services

logger = Logger()


def handler(event: dict, context: object) -> dict:
    reactions, notifications = services().reactions, services().notifications

    def consume(change: Any) -> None:
        reactions.react(change)
        notifications.notify(change)  # last: a reply's delivery or a snooze timer never waits for an e-mail

    return process_stream(event, consume, logger.exception)
