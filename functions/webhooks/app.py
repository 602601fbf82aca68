"""Webhook entry point (HTTP API, payload v2): POST and GET /webhooks/{channel}/{inbox_id}."""

from __future__ import annotations

import base64

from aws_lambda_powertools import Logger

from switchboard.channels.base import WebhookRequest
from switchboard.domain import clock
from switchboard.domain.errors import SwitchboardError
from switchboard.problems import internal_error_response, problem_response
from switchboard.wiring import services

logger = Logger()


def _public_url(event: dict, headers: dict[str, str]) -> str:
    """The URL the platform called, as it signed it (Twilio): the configured public base, else the Host header."""
    base = services().settings.public_webhook_base.rstrip("/") or f"https://{headers.get('host', '')}"
    query = event.get("rawQueryString") or ""
    return f"{base}{event.get('rawPath', '')}" + (f"?{query}" if query else "")


def _request(event: dict) -> WebhookRequest:
    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode("utf-8")
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    return WebhookRequest(
        method=event["requestContext"]["http"]["method"],
        headers=headers,
        query=dict(event.get("queryStringParameters") or {}),
        body=raw,
        received_at=clock.iso(clock.now()),
        public_url=_public_url(event, headers),
    )


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: object) -> dict:
    params = event.get("pathParameters") or {}
    channel, inbox_id = params.get("channel", ""), params.get("inbox_id", "")
    logger.append_keys(channel=channel, inbox_id=inbox_id)
    try:
        answer = services().webhooks.receive(channel, inbox_id, _request(event))
    except SwitchboardError as error:
        logger.info("webhook refused", extra={"status": error.status, "code": error.code})
        return problem_response(error)
    except Exception:
        logger.exception("webhook failed")  # the platform retries: nothing was acknowledged
        return internal_error_response()
    return {"statusCode": answer.status, "headers": {"Content-Type": answer.content_type}, "body": answer.body}
