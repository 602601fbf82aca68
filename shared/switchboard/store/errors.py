"""Translating DynamoDB's transaction cancellations into what the services need to know."""

from __future__ import annotations

from pynamodb.exceptions import TransactWriteError


def failed_conditions(error: TransactWriteError) -> list[bool]:
    """One flag per transaction item: True where that item's condition failed."""
    reasons = getattr(error, "cancellation_reasons", None) or []
    return [bool(reason and reason.code == "ConditionalCheckFailed") for reason in reasons]
