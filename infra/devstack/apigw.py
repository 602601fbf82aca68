"""API Gateway's half of a Lambda proxy integration: the events it builds for REST (payload v1), HTTP API (payload v2)
and WebSocket routes, and how it reads a function's answer. Pure functions, so the shapes are easy to check."""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from moto.core import DEFAULT_ACCOUNT_ID

from infra.devstack.template import HttpRoute

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Incoming:
    """An HTTP request as the gateway received it (header names lower-case, as ASGI gives them)."""

    method: str
    path: str
    raw_query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str
    domain: str
    epoch_ms: int = field(default_factory=lambda: int(time.time() * 1000))

    @property
    def user_agent(self) -> str:
        return next((value for name, value in self.headers if name == "user-agent"), "")


@dataclass(frozen=True)
class Reply:
    """What API Gateway sends back to the client."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


class MalformedResponse(ValueError):
    """The function's result is not a valid proxy integration response (API Gateway answers 502)."""


def request_time(epoch_ms: int) -> str:
    """API Gateway's requestTime format, e.g. "09/Apr/2015:12:34:56 +0000" (always English month, always UTC)."""
    moment = time.gmtime(epoch_ms / 1000)
    clock = time.strftime("%H:%M:%S", moment)
    return f"{moment.tm_mday:02d}/{_MONTHS[moment.tm_mon - 1]}/{moment.tm_year}:{clock} +0000"


def encode_body(body: bytes) -> tuple[str | None, bool]:
    """(body, isBase64Encoded): text as it is, anything that is not UTF-8 in base64."""
    if not body:
        return None, False
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), True


def _multi(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return grouped


def _identity(incoming: Incoming) -> dict[str, Any]:
    unknown = ("accessKey", "accountId", "apiKey", "apiKeyId", "caller", "cognitoAuthenticationProvider",
               "cognitoAuthenticationType", "cognitoIdentityId", "cognitoIdentityPoolId", "principalOrgId", "user",
               "userArn", "clientCert")
    return {name: None for name in unknown} | {"sourceIp": incoming.source_ip, "userAgent": incoming.user_agent}


def rest_event(route: HttpRoute, incoming: Incoming, path_parameters: dict[str, str], api_id: str,
               claims: dict[str, str] | None) -> dict[str, Any]:
    """A REST API (payload 1.0) proxy event."""
    headers = _multi(incoming.headers)
    query = _multi(parse_qsl(incoming.raw_query, keep_blank_values=True))
    body, is_base64 = encode_body(incoming.body)
    context = {
        "accountId": DEFAULT_ACCOUNT_ID,
        "apiId": api_id,
        "domainName": incoming.domain,
        "domainPrefix": incoming.domain.split(".")[0],
        "extendedRequestId": uuid.uuid4().hex[:16],
        "httpMethod": incoming.method,
        "identity": _identity(incoming),
        "path": f"/{route.stage}{incoming.path}",
        "protocol": "HTTP/1.1",
        "requestId": str(uuid.uuid4()),
        "requestTime": request_time(incoming.epoch_ms),
        "requestTimeEpoch": incoming.epoch_ms,
        "resourceId": uuid.uuid5(uuid.NAMESPACE_URL, route.path).hex[:6],
        "resourcePath": route.path,
        "stage": route.stage,
    }
    if claims is not None:
        context["authorizer"] = {"claims": claims}
    return {
        "resource": route.path,
        "path": incoming.path,
        "httpMethod": incoming.method,
        "headers": {name: values[-1] for name, values in headers.items()},
        "multiValueHeaders": headers,
        "queryStringParameters": {name: values[-1] for name, values in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": is_base64,
    }


def http_event(route: HttpRoute, incoming: Incoming, path_parameters: dict[str, str], api_id: str) -> dict[str, Any]:
    """An HTTP API (payload 2.0) event: duplicate headers and query values comma-joined, cookies apart."""
    cookies = [cookie.strip() for name, value in incoming.headers if name == "cookie"
               for cookie in value.split(";") if cookie.strip()]
    headers = {name: ",".join(values) for name, values in _multi(incoming.headers).items() if name != "cookie"}
    query = {name: ",".join(values)
             for name, values in _multi(parse_qsl(incoming.raw_query, keep_blank_values=True)).items()}
    body, is_base64 = encode_body(incoming.body)
    route_key = f"{route.method} {route.path}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": incoming.path,
        "rawQueryString": incoming.raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": DEFAULT_ACCOUNT_ID,
            "apiId": api_id,
            "domainName": incoming.domain,
            "domainPrefix": incoming.domain.split(".")[0],
            "http": {"method": incoming.method, "path": incoming.path, "protocol": "HTTP/1.1",
                     "sourceIp": incoming.source_ip, "userAgent": incoming.user_agent},
            "requestId": base64.b64encode(os.urandom(12)).decode("ascii"),
            "routeKey": route_key,
            "stage": route.stage,
            "time": request_time(incoming.epoch_ms),
            "timeEpoch": incoming.epoch_ms,
        },
        "isBase64Encoded": is_base64,
    }
    # API Gateway leaves these keys out when there is nothing to put in them.
    optional = {"cookies": cookies, "queryStringParameters": query, "pathParameters": path_parameters, "body": body}
    return event | {key: value for key, value in optional.items() if value}


def _reply_body(result: Mapping[str, Any]) -> bytes:
    body = result.get("body") or ""
    if not isinstance(body, str):
        raise MalformedResponse(f"body must be a string, got {type(body).__name__}")
    return base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")


def _with_default_content_type(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    if any(name.lower() == "content-type" for name, _ in headers):
        return headers
    return [*headers, ("Content-Type", "application/json")]


def rest_reply(result: Any) -> Reply:
    """Read a payload 1.0 response; multiValueHeaders win over headers of the same name, as in API Gateway."""
    if not isinstance(result, Mapping) or "statusCode" not in result:
        raise MalformedResponse("a REST proxy response needs a statusCode")
    multi = result.get("multiValueHeaders") or {}
    headers = [(name, str(value)) for name, values in multi.items() for value in values]
    headers += [(name, str(value)) for name, value in (result.get("headers") or {}).items() if name not in multi]
    return Reply(int(result["statusCode"]), _with_default_content_type(headers), _reply_body(result))


def http_reply(result: Any) -> Reply:
    """Read a payload 2.0 response: a dict with statusCode is taken as it is; anything else means 200 and JSON."""
    if isinstance(result, Mapping) and "statusCode" in result:
        headers = [(name, str(value)) for name, value in (result.get("headers") or {}).items()]
        headers += [("Set-Cookie", cookie) for cookie in result.get("cookies") or []]
        return Reply(int(result["statusCode"]), _with_default_content_type(headers), _reply_body(result))
    body = result if isinstance(result, str) else json.dumps(result)
    return Reply(200, [("Content-Type", "application/json")], body.encode("utf-8"))


@dataclass
class SocketSession:
    """One WebSocket connection as API Gateway tracks it."""

    connection_id: str
    api_id: str
    stage: str
    domain: str
    source_ip: str
    user_agent: str
    connected_at: int = field(default_factory=lambda: int(time.time() * 1000))
    last_active_at: int = field(default_factory=lambda: int(time.time() * 1000))


def new_connection_id() -> str:
    """A connection id shaped like API Gateway's ("L0SM9cOFvHcCIhw="), without "/" or "+" so it is path-safe."""
    return base64.b64encode(os.urandom(11), altchars=b"Ab").decode("ascii")


def _socket_context(session: SocketSession, route_key: str, event_type: str) -> dict[str, Any]:
    now = int(time.time() * 1000)
    return {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": uuid.uuid4().hex[:16],
        "requestTime": request_time(now),
        "messageDirection": "IN",
        "stage": session.stage,
        "connectedAt": session.connected_at,
        "requestTimeEpoch": now,
        "identity": {"sourceIp": session.source_ip, "userAgent": session.user_agent},
        "requestId": uuid.uuid4().hex[:16],
        "domainName": session.domain,
        "connectionId": session.connection_id,
        "apiId": session.api_id,
    }


def connect_event(session: SocketSession, headers: list[tuple[str, str]], raw_query: str) -> dict[str, Any]:
    grouped = _multi(headers)
    query = _multi(parse_qsl(raw_query, keep_blank_values=True))
    event: dict[str, Any] = {
        "headers": {name: values[-1] for name, values in grouped.items()},
        "multiValueHeaders": grouped,
        "requestContext": _socket_context(session, "$connect", "CONNECT"),
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = {name: values[-1] for name, values in query.items()}
        event["multiValueQueryStringParameters"] = query
    return event


def message_event(session: SocketSession, route_key: str, body: str) -> dict[str, Any]:
    context = _socket_context(session, route_key, "MESSAGE") | {"messageId": uuid.uuid4().hex[:16]}
    return {"requestContext": context, "body": body, "isBase64Encoded": False}


def disconnect_event(session: SocketSession, status_code: int, reason: str) -> dict[str, Any]:
    context = _socket_context(session, "$disconnect", "DISCONNECT")
    context |= {"disconnectStatusCode": status_code, "disconnectReason": reason}
    headers = {"Host": session.domain, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""}
    return {"headers": headers, "multiValueHeaders": {name: [value] for name, value in headers.items()},
            "requestContext": context, "isBase64Encoded": False}


def select_route(expression: str, body: str, route_keys: Collection[str]) -> str | None:
    """The route a message takes under a selection expression like "$request.body.action"; None if there is none."""
    prefix = "$request.body."
    if expression.startswith(prefix):
        try:
            value: Any = json.loads(body)
            for key in expression[len(prefix):].split("."):
                value = value.get(key) if isinstance(value, dict) else None
        except ValueError:
            value = None
        if isinstance(value, str) and value in route_keys and not value.startswith("$"):
            return value
    return "$default" if "$default" in route_keys else None
