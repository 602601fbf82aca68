"""The local API Gateway: serves template.yaml's REST (payload v1), HTTP API (payload v2) and WebSocket routes by
calling the handlers in-process, the WebSocket @connections management API, the web apps and the simulator."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketClose

from infra.devstack import apigw
from infra.devstack.authorizer import CognitoAuthorizer
from infra.devstack.lambdas import HandlerUnavailable, LambdaFunction
from infra.devstack.template import HttpRoute, WebSocketApi

log = logging.getLogger(__name__)

WEBSOCKET_PATH = "/ws"
_ReplyReader = Callable[[Any], apigw.Reply]


class OptionalStaticFiles(StaticFiles):
    """Static files from a folder that may not exist yet (web/ is being written): 404 until it does."""

    async def check_config(self) -> None:
        if self.directory is not None and Path(self.directory).is_dir():
            await super().check_config()


@dataclass(frozen=True)
class _ApiPath:
    """One resource path of the template, e.g. /v1/conversations/{conversation_id}, with its methods."""

    template: str
    pattern: re.Pattern[str]
    names: tuple[str, ...]
    routes: dict[str, HttpRoute]

    @classmethod
    def build(cls, template: str, routes: dict[str, HttpRoute]) -> _ApiPath:
        names, parts = [], []
        for segment in template.strip("/").split("/"):
            if segment.startswith("{") and segment.endswith("}"):
                greedy = segment.endswith("+}")
                names.append(segment[1:-2] if greedy else segment[1:-1])
                parts.append("(.+)" if greedy else "([^/]+)")
            else:
                parts.append(re.escape(segment))
        return cls(template, re.compile("/" + "/".join(parts)), tuple(names), routes)

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(path)
        return dict(zip(self.names, found.groups(), strict=True)) if found else None

    def route_for(self, method: str) -> HttpRoute | None:
        return self.routes.get(method) or self.routes.get("ANY")


class _Socket:
    """An accepted WebSocket; sends are serialized because @connections posts arrive from any request."""

    def __init__(self, websocket: WebSocket, session: apigw.SocketSession) -> None:
        self.websocket = websocket
        self.session = session
        self._sending = asyncio.Lock()

    async def send(self, text: str) -> None:
        async with self._sending:
            await self.websocket.send_text(text)


def _problem(status: int, title: str, detail: str = "") -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status} | ({"detail": detail} if detail else {})
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _gone() -> JSONResponse:
    # boto3 raises GoneException from this header, as it does against API Gateway.
    return JSONResponse({"message": "GoneException"}, status_code=410, headers={"x-amzn-ErrorType": "GoneException"})


def _to_response(reply: apigw.Reply) -> Response:
    response = Response(content=reply.body, status_code=reply.status)
    response.raw_headers.extend(
        (name.lower().encode("latin-1"), value.encode("latin-1", "replace"))
        for name, value in reply.headers if name.lower() != "content-length"
    )
    return response


def _iso(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat().replace("+00:00", "Z")


class Gateway:
    """Routes requests to handlers the way API Gateway would, from the routes read out of template.yaml."""

    def __init__(
        self,
        *,
        routes: list[HttpRoute],
        websocket: WebSocketApi | None,
        functions: Mapping[str, LambdaFunction],
        api_ids: Mapping[str, str],
        authorizers: Mapping[str, CognitoAuthorizer],
        cors: Mapping[str, dict[str, str]],
        unauthorized: Mapping[str, tuple[int, dict[str, str], str] | None],
        web_dir: Path,
        simulator: ASGIApp,
        config: Callable[[], dict[str, Any]],
    ) -> None:
        self._functions = functions
        self._api_ids = api_ids
        self._authorizers = authorizers
        self._cors = cors
        self._unauthorized = unauthorized
        self._websocket_api = websocket
        self._sockets: dict[str, _Socket] = {}
        self._paths = self._group(routes)
        self._client = OptionalStaticFiles(directory=web_dir / "client", html=True, check_dir=False)
        self._config = config
        self.app = Starlette(
            routes=[
                Route("/config.json", self._serve_config),
                *self._websocket_routes(),
                Mount("/sim", app=simulator),
                Mount("/widget", app=OptionalStaticFiles(directory=web_dir / "widget", html=True, check_dir=False)),
                Mount("", app=self._api_or_client),
            ],
            exception_handlers={HTTPException: self._http_exception},
        )

    @staticmethod
    def _group(routes: list[HttpRoute]) -> list[_ApiPath]:
        by_path: dict[str, dict[str, HttpRoute]] = {}
        for route in routes:
            by_path.setdefault(route.path, {})[route.method] = route
        paths = [_ApiPath.build(path, methods) for path, methods in by_path.items()]
        # Literal segments win over parameters, as in API Gateway: /v1/x/search before /v1/x/{id}.
        return sorted(paths, key=lambda api_path: (len(api_path.names), api_path.template))

    def _websocket_routes(self) -> list[Route | WebSocketRoute]:
        if self._websocket_api is None:
            return []
        return [
            WebSocketRoute(WEBSOCKET_PATH, self._serve_websocket),
            Route(f"/{self._websocket_api.stage}/@connections/{{connection_id}}", self._serve_connections,
                  methods=["GET", "POST", "DELETE"]),
        ]

    async def _serve_config(self, request: Request) -> JSONResponse:
        return JSONResponse(self._config())

    async def _http_exception(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return _problem(exc.status_code, exc.detail)

    # ------------------------------------------------------------------ REST and HTTP API routes

    async def _api_or_client(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":  # the only WebSocket route is WEBSOCKET_PATH
            await WebSocketClose()(scope, receive, send)
            return
        if scope["type"] == "http":
            for api_path in self._paths:
                parameters = api_path.match(scope["path"])
                if parameters is not None:
                    response = await self._serve_api(Request(scope, receive), api_path, parameters)
                    await response(scope, receive, send)
                    return
        await self._client(scope, receive, send)

    async def _serve_api(self, request: Request, api_path: _ApiPath, parameters: dict[str, str]) -> Response:
        route = api_path.route_for(request.method)
        if route is None:
            cors = self._cors.get(next(iter(api_path.routes.values())).api)
            if request.method == "OPTIONS" and cors:
                return JSONResponse({}, headers=cors)
            return _problem(405, "Method Not Allowed", f"{request.method} {api_path.template}")
        incoming = apigw.Incoming(
            method=request.method,
            path=request.url.path,
            raw_query=request.scope["query_string"].decode("latin-1"),
            headers=[(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw],
            body=await request.body(),
            source_ip=request.client.host if request.client else "127.0.0.1",
            domain=request.headers.get("host", "localhost"),
        )
        api_id = self._api_ids.get(route.api, route.api)
        if route.payload_version == "2.0":
            event = apigw.http_event(route, incoming, parameters, api_id)
            return await self._invoke(route.function, event, apigw.http_reply, (500, "Internal Server Error"))
        claims = None
        if route.authorizer:
            authorizer = self._authorizers[route.authorizer]
            claims = await run_in_threadpool(authorizer.claims, request.headers.get("authorization"))
            if claims is None:
                custom = self._unauthorized.get(route.api)
                if custom is None:  # API Gateway's own default
                    return JSONResponse({"message": "Unauthorized"}, status_code=401)
                status, headers, body = custom
                return Response(body, status_code=status, headers=headers)
        event = apigw.rest_event(route, incoming, parameters, api_id, claims)
        return await self._invoke(route.function, event, apigw.rest_reply, (502, "Internal server error"))

    async def _invoke(self, function: str, event: dict[str, Any], read: _ReplyReader,
                      failure: tuple[int, str]) -> Response:
        try:
            result = await run_in_threadpool(self._functions[function].invoke, event)
            return _to_response(read(result))
        except HandlerUnavailable as exc:
            log.exception("%s", exc)
            return JSONResponse({"message": str(exc)}, status_code=502)
        except apigw.MalformedResponse as exc:
            log.error("%s returned a malformed response: %s", function, exc)
            return JSONResponse({"message": "Internal server error"}, status_code=502)
        except Exception:
            log.exception("%s failed", function)
            return JSONResponse({"message": failure[1]}, status_code=failure[0])

    # ------------------------------------------------------------------ WebSocket API

    async def _serve_websocket(self, websocket: WebSocket) -> None:
        api = self._websocket_api
        assert api is not None
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in websocket.headers.raw]
        session = apigw.SocketSession(
            connection_id=apigw.new_connection_id(),
            api_id=self._api_ids.get(api.api, api.api),
            stage=api.stage,
            domain=websocket.headers.get("host", "localhost"),
            source_ip=websocket.client.host if websocket.client else "127.0.0.1",
            user_agent=websocket.headers.get("user-agent", ""),
        )
        connect = apigw.connect_event(session, headers, websocket.scope["query_string"].decode("latin-1"))
        status, body = await self._socket_route("$connect", connect)
        if status != 200:
            # API Gateway answers the upgrade request itself with $connect's status.
            await websocket.send_denial_response(Response(body, status_code=status))
            return
        await websocket.accept()
        self._sockets[session.connection_id] = client = _Socket(websocket, session)
        code, reason = 1006, ""
        try:
            code, reason = await self._receive_messages(client)
        finally:
            del self._sockets[session.connection_id]
            await self._socket_route("$disconnect", apigw.disconnect_event(session, code, reason))

    async def _receive_messages(self, client: _Socket) -> tuple[int, str]:
        api = self._websocket_api
        assert api is not None
        while True:
            message = await client.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return int(message.get("code") or 1005), str(message.get("reason") or "")
            text = message.get("text") or (message.get("bytes") or b"").decode("utf-8", "replace")
            client.session.last_active_at = int(time.time() * 1000)
            route_key = apigw.select_route(api.selection_expression, text, api.route_functions.keys())
            if route_key is None:
                await client.send(json.dumps({"message": "Forbidden", "connectionId": client.session.connection_id}))
                continue
            _, body = await self._socket_route(route_key, apigw.message_event(client.session, route_key, text))
            if body:
                await client.send(body.decode("utf-8", "replace"))

    async def _socket_route(self, route_key: str, event: dict[str, Any]) -> tuple[int, bytes]:
        """(status, body) of a WebSocket route; a route the API does not declare succeeds silently."""
        api = self._websocket_api
        assert api is not None
        function = api.route_functions.get(route_key)
        if function is None:
            return 200, b""
        try:
            result = await run_in_threadpool(self._functions[function].invoke, event)
        except Exception:
            log.exception("%s failed on %s", function, route_key)
            return 500, json.dumps({"message": "Internal server error"}).encode()
        if not isinstance(result, Mapping):
            return 200, b""
        body = result.get("body") or ""
        return int(result.get("statusCode", 200)), body.encode("utf-8") if isinstance(body, str) else b""

    async def _serve_connections(self, request: Request) -> Response:
        """The @connections management API (what boto3's apigatewaymanagementapi client calls)."""
        client = self._sockets.get(request.path_params["connection_id"])
        if client is None:
            return _gone()
        if request.method == "GET":
            session = client.session
            return JSONResponse({
                "connectedAt": _iso(session.connected_at),
                "identity": {"sourceIp": session.source_ip, "userAgent": session.user_agent},
                "lastActiveAt": _iso(session.last_active_at),
            })
        try:
            if request.method == "DELETE":
                await client.websocket.close(code=1000)
                return Response(status_code=204)
            await client.send((await request.body()).decode("utf-8", "replace"))
        except Exception:  # the socket went away between the lookup and the send
            return _gone()
        return Response(status_code=200)


class BackgroundServer:
    """uvicorn in a daemon thread on a socket bound beforehand, so the port is known before the app is built."""

    def __init__(self, bound: socket.socket) -> None:
        self._socket = bound
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @staticmethod
    def bind(port: int) -> socket.socket:
        bound = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        bound.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        bound.bind(("127.0.0.1", port))
        return bound

    @property
    def port(self) -> int:
        return int(self._socket.getsockname()[1])

    def start(self, app: ASGIApp) -> None:
        config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name="devstack-gateway", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the gateway did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=5)
        self._socket.close()
