"""WebSocket entry point: $connect (authenticate), $disconnect, $default (client frames)."""

from __future__ import annotations

import json

from aws_lambda_powertools import Logger

from switchboard.domain.errors import SwitchboardError
from switchboard.problems import problem_response
from switchboard.wiring import services

logger = Logger()


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: object) -> dict:
    context_ = event["requestContext"]
    route, connection_id = context_["routeKey"], context_["connectionId"]
    realtime = services().realtime
    try:
        if route == "$connect":
            realtime.connect(connection_id, dict(event.get("queryStringParameters") or {}))
            return {"statusCode": 200}
        if route == "$disconnect":
            realtime.disconnect(connection_id)
            return {"statusCode": 200}
        reply = realtime.message(connection_id, event.get("body"))
    except SwitchboardError as error:
        logger.info("socket refused", extra={"route": route, "code": error.code})
        return problem_response(error)
    return {"statusCode": 200, "body": json.dumps(reply) if reply else ""}
