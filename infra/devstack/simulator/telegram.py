"""Telegram: a fake Bot API at /sim/telegram/bot{token}/{method} and a customer who writes through real Updates posted
with the inbox's secret token."""

from __future__ import annotations

import itertools
import json
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from infra.devstack.simulator.core import (
    Answer,
    Context,
    Failure,
    customer_request,
    customer_result,
    form_pairs,
)

CHANNEL = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
BLOCKED = (403, "Forbidden: bot was blocked by the user")
Method = Callable[[dict[str, Any], dict[str, Any]], Answer]


def _error(code: int, description: str) -> dict[str, Any]:
    return {"ok": False, "error_code": code, "description": description}


def _chat_id(value: Any) -> int | str | None:
    """Telegram takes a chat id as an integer or a string of one (or an @channel name)."""
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    return value or None


def bot_token(inbox: dict[str, Any]) -> str:
    return str(inbox.get("bot_token") or inbox.get("token") or "")


def _bot(inbox: dict[str, Any]) -> dict[str, Any]:
    bot_id = bot_token(inbox).split(":")[0]
    username = re.sub(r"\W+", "_", str(inbox.get("name", "switchboard"))).strip("_").lower()
    return {"id": int(bot_id) if bot_id.isdigit() else 1, "is_bot": True,
            "first_name": inbox.get("name", "Switchboard"),
            "username": username if username.endswith("bot") else f"{username}_bot"}  # Telegram requires it


async def _payload(request: Request) -> dict[str, Any]:
    """Bot API parameters come as a query string, JSON, or a form (multipart when a file is uploaded)."""
    payload: dict[str, Any] = dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        payload |= await request.json()
    elif content_type.startswith("application/x-www-form-urlencoded"):
        payload |= dict(await form_pairs(request))
    elif request.method == "POST":  # multipart: Starlette needs python-multipart for it
        form = await request.form()
        payload |= {name: value if isinstance(value, str) else f"<file {value.filename}>"
                    for name, value in form.items()}
    return payload


def _file_content(path: str) -> bytes:
    """What the fake file server serves for a file path (getFile reports its size)."""
    return f"simulated file {path}\n".encode()


def _names(data: dict[str, Any]) -> dict[str, str]:
    """first_name / last_name / username from the legacy fields, or from a single ``name``."""
    names = {key: str(data[key]) for key in ("first_name", "last_name", "username") if data.get(key)}
    if not names.get("first_name") and data.get("name"):
        first, _, last = str(data["name"]).strip().partition(" ")
        names |= {"first_name": first} | ({"last_name": last.strip()} if last.strip() else {})
    names.setdefault("first_name", "Customer")
    return names


class Telegram:
    """The fake Bot API and the Telegram customer."""

    channels = (CHANNEL,)

    def __init__(self, context: Context) -> None:
        self._context = context
        self._update_ids = itertools.count(1)
        # In a private chat both sides share one message counter, as in Telegram.
        self._message_ids: defaultdict[int | str, Iterator[int]] = defaultdict(lambda: itertools.count(1))
        self._customers: dict[int | str, dict[str, Any]] = {}
        self._methods: dict[str, Method] = {
            "sendmessage": self._send_message,
            "answercallbackquery": lambda inbox, payload: Answer(200, {"ok": True, "result": True}),
            "getfile": self._get_file,
            **{method: self._file_sender(field) for method, field in
               (("sendphoto", "photo"), ("senddocument", "document"), ("sendvideo", "video"),
                ("sendaudio", "audio"), ("sendvoice", "voice"))},
            "setwebhook": lambda inbox, payload: Answer(200, {"ok": True, "result": True,
                                                              "description": "Webhook was set"}),
            "getme": lambda inbox, payload: Answer(200, {"ok": True, "result": _bot(inbox)}),
        }

    def routes(self) -> list[Route]:
        return [
            Route("/telegram/bot{token}/{method}", self._api, methods=["GET", "POST"]),
            Route("/telegram/file/bot{token}/{file_path:path}", self._file),
            Route("/api/telegram/{inbox_id}/send", self._customer_sends, methods=["POST"]),
        ]

    def failure(self, channel: str, spec: dict[str, Any]) -> Failure:
        """{"status", "body"}, or the older {"error_code", "description"}; a blocked bot by default."""
        code = int(spec.get("status") or spec.get("error_code") or BLOCKED[0])
        body = spec.get("body") or _error(code, str(spec.get("description") or BLOCKED[1]))
        recipient = spec.get("recipient") or spec.get("chat_id")
        return Failure(code, body, str(recipient) if recipient else None)

    # ------------------------------------------------------------------ fake Bot API

    async def _api(self, request: Request) -> JSONResponse:
        token, method = request.path_params["token"], request.path_params["method"]
        inbox = self._context.inboxes.find(self.channels, lambda candidate: bot_token(candidate) == token)
        if inbox is None:
            return JSONResponse(_error(401, "Unauthorized"), status_code=401)
        payload = await _payload(request)
        implementation = self._methods.get(method.lower())  # Bot API method names are case-insensitive
        answer = implementation(inbox, payload) if implementation else Answer(404, _error(404, "Not Found"))
        self._context.outbox.record(CHANNEL, inbox, method, request.url.path, payload, answer, token=token)
        return answer.response()

    def _send_message(self, inbox: dict[str, Any], payload: dict[str, Any]) -> Answer:
        chat_id = _chat_id(payload.get("chat_id"))
        text = str(payload.get("text") or "")
        failure = self._context.failures.take(CHANNEL, chat_id)
        if failure is not None:
            return Answer(failure.status, failure.body, recipient=chat_id, text=text)
        if chat_id is None:
            return Answer(400, _error(400, "Bad Request: chat not found"))
        if not text.strip():
            return Answer(400, _error(400, "Bad Request: message text is empty"), recipient=chat_id)
        message = {
            "message_id": next(self._message_ids[chat_id]),
            "from": _bot(inbox),
            "chat": {"id": chat_id, "type": "private", **self._customers.get(chat_id, {})},
            "date": int(time.time()),
            "text": text,
        }
        return Answer(200, {"ok": True, "result": message}, recipient=chat_id, text=text,
                      external_id=f"{chat_id}:{message['message_id']}")

    def _file_sender(self, field: str) -> Method:
        """sendPhoto, sendDocument, …: the file arrives as a URL the real Bot API would fetch; the log shows it."""

        def send(inbox: dict[str, Any], payload: dict[str, Any]) -> Answer:
            chat_id = _chat_id(payload.get("chat_id"))
            url = str(payload.get(field) or "")
            if chat_id is None or not url:
                return Answer(400, _error(400, f"Bad Request: there is no {field} in the request"))
            message = {"message_id": next(self._message_ids[chat_id]), "from": _bot(inbox),
                       "chat": {"id": chat_id, "type": "private", **self._customers.get(chat_id, {})},
                       "date": int(time.time()), "caption": payload.get("caption") or "",
                       field: {"file_id": url.rsplit("/", 1)[-1].split("?", 1)[0]}}
            label = f"[{field}] {payload.get('caption') or url.rsplit('/', 1)[-1].split('?', 1)[0]}"
            return Answer(200, {"ok": True, "result": message}, recipient=chat_id, text=label,
                          external_id=f"{chat_id}:{message['message_id']}")

        return send

    @staticmethod
    def _get_file(inbox: dict[str, Any], payload: dict[str, Any]) -> Answer:
        file_id = str(payload.get("file_id") or "")
        if not file_id:
            return Answer(400, _error(400, "Bad Request: file_id is empty"))
        path = f"documents/{file_id}"
        return Answer(200, {"ok": True, "result": {"file_id": file_id, "file_unique_id": file_id[-16:],
                                                   "file_size": len(_file_content(path)), "file_path": path}})

    async def _file(self, request: Request) -> Response:
        return Response(_file_content(request.path_params["file_path"]), media_type="application/octet-stream")

    # ------------------------------------------------------------------ customer side

    async def _customer_sends(self, request: Request) -> JSONResponse:
        """Write as a customer: a real Bot API Update, posted to the service's webhook with the inbox's secret."""
        found = await customer_request(self._context, request, CHANNEL, "Telegram inbox", "chat_id|from", "text")
        if isinstance(found, JSONResponse):
            return found
        inbox, data = found
        chat_id = str(data.get("chat_id") or data.get("from") or "")
        if not chat_id.lstrip("-").isdigit():
            return JSONResponse({"detail": "chat_id must be a Telegram chat id (digits)"}, status_code=400)
        update = self._update(int(chat_id), _names(data), data)
        response = await self._context.webhooks.post(
            CHANNEL, inbox["id"], json.dumps(update).encode(),
            {"Content-Type": "application/json", SECRET_HEADER: str(inbox.get("webhook_secret", ""))})
        message = update["message"]
        return customer_result(response, update, update=update, id=f"{message['chat']['id']}:{message['message_id']}")

    def _update(self, chat_id: int, names: dict[str, str], data: dict[str, Any]) -> dict[str, Any]:
        self._customers[chat_id] = names
        chat = {"id": chat_id, **names, "type": "private"}
        message: dict[str, Any] = {
            "message_id": next(self._message_ids[chat_id]),
            "from": {"id": chat_id, "is_bot": False, **names, "language_code": "en"},
            "chat": chat,
            "date": int(time.time()),
            "text": data["text"],
        }
        if data.get("reply_to_message_id"):
            message["reply_to_message"] = {"message_id": int(data["reply_to_message_id"]), "chat": chat,
                                           "date": message["date"]}
        return {"update_id": next(self._update_ids), "message": message}
