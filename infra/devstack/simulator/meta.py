"""Meta's Graph API at /sim/graph: the WhatsApp Cloud API (``/{phone_number_id}/messages``) and the Messenger and
Instagram Send API (``/me/messages``), with Graph's error shape; and webhooks signed the way Meta signs them."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from infra.devstack.simulator.core import Answer, Context

_VERSION = re.compile(r"v\d+(\.\d+)?")


def graph_error(status: int, code: int, message: str, *, subcode: int | None = None, details: str | None = None,
                kind: str = "OAuthException") -> Answer:
    """An error answer shaped the way Graph sends them."""
    error: dict[str, Any] = {"message": message, "type": kind, "code": code,
                             "fbtrace_id": secrets.token_urlsafe(16)}
    if subcode is not None:
        error["error_subcode"] = subcode
    if details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return Answer(status, {"error": error})


def invalid_token() -> Answer:
    return graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")


def missing_parameter(name: str) -> Answer:
    return graph_error(400, 100, f"(#100) The parameter {name} is required")


def unsupported_post(object_id: str) -> Answer:
    return graph_error(400, 100, f"Unsupported post request. Object with ID '{object_id}' does not exist, cannot be "
                                 "loaded due to missing permissions, or does not support this operation.",
                       subcode=33, kind="GraphMethodException")


def meta_body(document: dict[str, Any]) -> bytes:
    """A webhook body as Meta encodes it: compact, non-ASCII as \\uXXXX and '/' as '\\/' (so only a signature over
    the raw bytes verifies)."""
    return json.dumps(document, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode("ascii")


def signed_headers(body: bytes, app_secret: str) -> dict[str, str]:
    """The headers of a Meta webhook POST: X-Hub-Signature-256 (and the legacy SHA-1 one) keyed with the app secret."""
    key = app_secret.encode("utf-8")
    return {
        "Content-Type": "application/json",
        "User-Agent": "facebookexternalua",
        "X-Hub-Signature": "sha1=" + hmac.new(key, body, hashlib.sha1).hexdigest(),
        "X-Hub-Signature-256": "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest(),
    }


def bearer(request: Request) -> str:
    """The access token, from the Authorization header (or, as Graph also allows, the query string)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.query_params.get("access_token", "")


class Product(Protocol):
    """One Graph product the dispatcher can hand a ``…/messages`` call to."""

    def send(self, object_id: str, token: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any] | None, Answer]:
        """(channel, inbox or None, answer) for one send."""


class GraphApi:
    """POST /sim/graph[/vXX.X]/{object}/messages, handed to WhatsApp or to the Send API by its object id."""

    def __init__(self, context: Context, whatsapp: Product, send_api: Product) -> None:
        self._context = context
        self._whatsapp = whatsapp
        self._send_api = send_api

    def routes(self) -> list[Route]:
        return [Route("/graph/{path:path}", self._call, methods=["POST"]),
                Route("/graph/{path:path}", self._profile, methods=["GET"])]

    async def _profile(self, request: Request) -> JSONResponse:
        """GET /{PSID or IGSID}?fields=…: the User Profile API, for the customers the simulator has seen."""
        parts = request.path_params["path"].strip("/").split("/")
        if parts and _VERSION.fullmatch(parts[0]):
            parts = parts[1:]
        user_id = parts[0] if len(parts) == 1 else ""
        name = next((self._context.people[(channel, user_id)] for channel in ("messenger", "instagram")
                     if (channel, user_id) in self._context.people), None)
        if name is None:
            return graph_error(400, 100, f"(#100) Unsupported get request. Object with ID '{user_id}' does not "
                                         "exist").response()
        first, _, last = name.partition(" ")
        return JSONResponse({"id": user_id, "first_name": first, "last_name": last, "name": name,
                             "username": name.lower().replace(" ", ".")})

    async def _call(self, request: Request) -> JSONResponse:
        parts = request.path_params["path"].strip("/").split("/")
        if parts and _VERSION.fullmatch(parts[0]):
            parts = parts[1:]
        try:
            payload = json.loads(await request.body() or b"{}")
        except ValueError:
            payload = None
        if len(parts) != 2 or parts[1] != "messages":
            return unsupported_post("/".join(parts)).response()
        if not isinstance(payload, dict):
            return graph_error(400, 100, "(#100) The request body is not valid JSON").response()
        product = self._send_api if parts[0] == "me" else self._whatsapp
        channel, inbox, answer = product.send(parts[0], bearer(request), payload)
        self._context.outbox.record(channel, inbox, "POST", request.url.path, payload, answer)
        return answer.response()
