"""VK: the fake API at /sim/vk/method/{method} (messages.send, messages.sendMessageEventAnswer) and a customer whose
messages reach the service as Callback API ``message_new`` events carrying the inbox's secret."""

from __future__ import annotations

import itertools
import json
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from infra.devstack.simulator.core import (
    Answer,
    Context,
    Failure,
    customer_request,
    customer_result,
    extra,
    form_pairs,
    now_seconds,
)

CHANNEL = "vk"
API_VERSION = "5.199"
MAX_TEXT = 4096
NO_PERMISSION = (901, "Can't send messages for users without permission")
_CLIENT_INFO = {"button_actions": ["text", "vkpay", "open_app", "location", "open_link", "callback",
                                   "intent_subscribe", "intent_unsubscribe"],
                "keyboard": True, "inline_keyboard": True, "carousel": True, "lang_id": 0}
Method = Callable[[dict[str, Any], dict[str, str]], Answer]


def vk_error(code: int, message: str, params: dict[str, str] | None = None) -> Answer:
    """VK's error shape, which comes with HTTP 200."""
    request_params = [{"key": key, "value": value} for key, value in (params or {}).items() if key != "access_token"]
    return Answer(200, {"error": {"error_code": code, "error_msg": message, "request_params": request_params}})


def _invalid_parameter(detail: str, params: dict[str, str]) -> Answer:
    return vk_error(100, f"One of the parameters specified was missing or invalid: {detail}", params)


def _peer(params: dict[str, str]) -> int | None:
    raw = (params.get("peer_ids") or params.get("peer_id") or params.get("user_id") or "").split(",")[0].strip()
    return int(raw) if raw.lstrip("-").isdigit() else None


def _invalid_send(params: dict[str, str]) -> Answer | None:
    """messages.send's refusal of a malformed call, or None."""
    if _peer(params) is None:
        return _invalid_parameter("you should specify peer_id, user_id, domain, chat_id or user_ids param", params)
    if not params.get("random_id", "").lstrip("-").isdigit():
        return _invalid_parameter("random_id is a required parameter", params)
    if not params.get("message", "").strip() and not params.get("attachment"):
        return _invalid_parameter("message is empty or invalid", params)
    if len(params.get("message", "")) > MAX_TEXT:
        return vk_error(914, "Message is too long", params)
    return None


def _refusal(failure: Failure, peer: int, params: dict[str, str]) -> Answer:
    """An armed failure: the given body, else VK's refusal for that peer (inside the result with ``peer_ids``)."""
    if failure.body is not None:
        return Answer(failure.status, failure.body)
    code, message = NO_PERMISSION
    if "peer_ids" in params:
        return Answer(failure.status, {"response": [{"peer_id": peer, "error": {"code": code,
                                                                                 "description": message}}]})
    return vk_error(code, message, params)


class Vk:
    """The fake VK API and the VK customer."""

    channels = (CHANNEL,)

    def __init__(self, context: Context) -> None:
        self._context = context
        self._message_ids = itertools.count(48_301)
        # Both sides of a dialog share its conversation message ids, as in VK.
        self._conversation_ids: defaultdict[tuple[str, int], Iterator[int]] = defaultdict(lambda: itertools.count(1))
        self._sent: dict[tuple[str, int, str], dict[str, int]] = {}  # (inbox, peer, random_id) → the message
        self._methods: dict[str, Method] = {
            "messages.send": self._send,
            "messages.sendmessageeventanswer": self._event_answer,
            "users.get": self._users,
        }

    def routes(self) -> list[Route]:
        return [
            Route("/vk/method/{method}", self._api, methods=["GET", "POST"]),
            Route("/api/vk/{inbox_id}/send", self._customer_sends, methods=["POST"]),
        ]

    def failure(self, channel: str, spec: dict[str, Any]) -> Failure:
        """Error 901 (the customer has not allowed the community's messages) unless told otherwise."""
        return Failure(int(spec.get("status") or 200), spec.get("body"), spec.get("recipient"))

    # ------------------------------------------------------------------ fake API

    async def _api(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        params = dict(request.query_params)
        if request.method == "POST":
            params |= dict(await form_pairs(request))
        token = params.get("access_token") or request.headers.get("authorization", "").removeprefix("Bearer ")
        inbox = self._context.inboxes.find(self.channels, lambda candidate: candidate.get("token") == token)
        answer = self._answer(inbox, method, params)
        self._context.outbox.record(CHANNEL, inbox, method, request.url.path,
                                    {key: value for key, value in params.items() if key != "access_token"}, answer)
        return answer.response()

    def _answer(self, inbox: dict[str, Any] | None, method: str, params: dict[str, str]) -> Answer:
        if inbox is None:
            return vk_error(5, "User authorization failed: invalid access_token (4).", params)
        if not params.get("v"):
            return vk_error(8, "Invalid request: v (version) is required", params)
        implementation = self._methods.get(method.lower())
        if implementation is None:
            return vk_error(3, "Unknown method passed", params)
        return implementation(inbox, params)

    def _send(self, inbox: dict[str, Any], params: dict[str, str]) -> Answer:
        peer, text = _peer(params), params.get("message", "")
        refusal = _invalid_send(params)
        if refusal is not None:
            return Answer(refusal.status, refusal.body, recipient=peer, text=text)
        assert peer is not None
        failure = self._context.failures.take(CHANNEL, peer)
        if failure is not None:
            answer = _refusal(failure, peer, params)
            return Answer(answer.status, answer.body, recipient=peer, text=text)
        sent = self._message(inbox["id"], peer, params["random_id"])
        result: Any = [sent] if "peer_ids" in params else sent["message_id"]
        return Answer(200, {"response": result}, recipient=peer, text=text,
                      external_id=f"{peer}:{sent['conversation_message_id']}")

    def _message(self, inbox_id: str, peer: int, random_id: str) -> dict[str, int]:
        """The message a send creates; the same random_id again returns the earlier one, as VK does."""
        key = (inbox_id, peer, random_id)
        if key not in self._sent or random_id == "0":
            self._sent[key] = {"peer_id": peer, "message_id": next(self._message_ids),
                               "conversation_message_id": next(self._conversation_ids[(inbox_id, peer)])}
        return self._sent[key]

    def _users(self, inbox: dict[str, Any], params: dict[str, str]) -> Answer:
        """users.get for the customers the simulator has seen (names given when they wrote)."""
        users = []
        for user_id in filter(None, params.get("user_ids", "").split(",")):
            name = self._context.people.get((CHANNEL, user_id), f"id{user_id}")
            first, _, last = name.partition(" ")
            users.append({"id": int(user_id), "first_name": first, "last_name": last,
                          "screen_name": name.lower().replace(" ", "_")})
        return Answer(200, {"response": users})

    @staticmethod
    def _event_answer(inbox: dict[str, Any], params: dict[str, str]) -> Answer:
        missing = [name for name in ("event_id", "user_id", "peer_id") if not params.get(name)]
        if missing:
            return _invalid_parameter(f"{missing[0]} is a required parameter", params)
        return Answer(200, {"response": 1})

    # ------------------------------------------------------------------ customer side

    async def _customer_sends(self, request: Request) -> JSONResponse:
        """{"from": peer id, "text"} as a ``message_new`` event with the inbox's secret and group id."""
        found = await customer_request(self._context, request, CHANNEL, "VK inbox", "from", "text")
        if isinstance(found, JSONResponse):
            return found
        inbox, data = found
        if not str(data["from"]).isdigit():
            return JSONResponse({"detail": "from must be a VK user id (digits)"}, status_code=400)
        if data.get("name"):
            self._context.people[(CHANNEL, str(data["from"]))] = str(data["name"])
        event = self._event(inbox, int(data["from"]), str(data["text"]))
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        response = await self._context.webhooks.post(CHANNEL, inbox["id"], body,
                                                     {"Content-Type": "application/json"})
        message = event["object"]["message"]
        return customer_result(response, event, id=f"{message['peer_id']}:{message['conversation_message_id']}")

    def _event(self, inbox: dict[str, Any], peer: int, text: str) -> dict[str, Any]:
        message = {"date": now_seconds(), "from_id": peer, "id": next(self._message_ids), "out": 0,
                   "version": 10_060_000 + secrets.randbelow(10_000), "attachments": [],
                   "conversation_message_id": next(self._conversation_ids[(inbox["id"], peer)]), "fwd_messages": [],
                   "important": False, "is_hidden": False, "peer_id": peer, "random_id": 0, "text": text}
        group = extra(inbox, "group_id").lstrip("-")
        return {"group_id": int(group) if group.isdigit() else 0, "type": "message_new",
                "event_id": secrets.token_hex(20), "v": API_VERSION,
                "object": {"message": message, "client_info": _CLIENT_INFO},
                "secret": str(inbox.get("webhook_secret", ""))}
