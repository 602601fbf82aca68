"""The one mapping from domain errors to HTTP problem documents (RFC 9457, application/problem+json)."""

from __future__ import annotations

import json
from typing import Any

from .domain.errors import SwitchboardError

CONTENT_TYPE = "application/problem+json"


def problem(error: SwitchboardError) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"https://switchboard.dev/problems/{error.code}",
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "code": error.code,
    }
    for key, value in error.extra.items():
        if isinstance(value, str | int | float | bool) or value is None:
            body[key] = value
    return body


def problem_response(error: SwitchboardError) -> dict[str, Any]:
    """An API Gateway proxy response carrying the problem."""
    return {
        "statusCode": error.status,
        "headers": {"Content-Type": CONTENT_TYPE},
        "body": json.dumps(problem(error)),
    }


def internal_error_response() -> dict[str, Any]:
    body = {"type": "about:blank", "title": "Internal error", "status": 500, "code": "internal_error",
            "detail": "Something went wrong on our side; it has been logged."}
    return {"statusCode": 500, "headers": {"Content-Type": CONTENT_TYPE}, "body": json.dumps(body)}
