"""Stream consumer: sends conversation and message changes to the operators' sockets."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from switchboard.batches import process_stream
from switchboard.wiring import services

logger = Logger()


def handler(event: dict, context: object) -> dict:
    fanout = services().fanout
    return process_stream(event, lambda change: fanout.publish([change]), logger.exception)
