"""The messenger simulator, mounted at /sim: a fake Telegram Bot API that records what the service sends, a control API
to write as a customer through real webhooks carrying the inbox's secret, the e-mails moto's SES kept, and a page."""

from __future__ import annotations

import itertools
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from infra.devstack.moto_internals import sent_emails

STATIC_DIR = Path(__file__).parent / "static"
TelegramMethod = Callable[[dict[str, Any], dict[str, Any]], tuple[int, dict[str, Any]]]


def _telegram_error(code: int, description: str) -> tuple[int, dict[str, Any]]:
    return code, {"ok": False, "error_code": code, "description": description}


def _chat_id(value: Any) -> int | str | None:
    """Telegram takes a chat id as an integer or a string of one (or an @channel name)."""
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    return value or None


class Simulator:
    """State of the fake platforms: demo inboxes, every call received, message and update counters."""

    def __init__(self, gateway_url: str) -> None:
        self._gateway_url = gateway_url
        self._inboxes: dict[str, dict[str, Any]] = {}
        self._calls: list[dict[str, Any]] = []
        self._sequence = itertools.count(1)
        self._update_ids = itertools.count(1)
        # In a private chat both sides share one message counter, as in Telegram.
        self._message_ids: defaultdict[int | str, Iterator[int]] = defaultdict(lambda: itertools.count(1))
        self._customers: dict[int | str, dict[str, Any]] = {}
        self._fail_next_send: dict[str, Any] | None = None
        self._telegram_methods: dict[str, TelegramMethod] = {
            "sendmessage": self._send_message,
            "answercallbackquery": lambda inbox, payload: (200, {"ok": True, "result": True}),
            "getfile": self._get_file,
            "setwebhook": lambda inbox, payload: (200, {"ok": True, "result": True, "description": "Webhook was set"}),
            "getme": lambda inbox, payload: (200, {"ok": True, "result": self._bot(inbox)}),
        }
        self.app = Starlette(routes=[
            Route("/telegram/bot{token}/{method}", self._telegram, methods=["GET", "POST"]),
            Route("/telegram/file/bot{token}/{file_path:path}", self._telegram_file),
            Route("/api/telegram/fail-next", self._fail_next, methods=["POST"]),
            Route("/api/telegram/{inbox_id}/send", self._customer_sends, methods=["POST"]),
            Route("/api/outbox", self._outbox),
            Route("/api/inboxes", self._list_inboxes),
            Route("/api/mail", self._mail),
            Mount("/", app=StaticFiles(directory=STATIC_DIR, html=True)),
        ])

    def set_inboxes(self, inboxes: list[dict[str, Any]]) -> None:
        """The demo inboxes (id, channel, name, webhook_secret, bot_token); their tokens are the valid ones."""
        self._inboxes = {inbox["id"]: inbox for inbox in inboxes}

    def add_inbox(self, inbox: dict[str, Any]) -> None:
        """Another inbox whose bot token the fake API accepts (tests provision their own)."""
        self._inboxes[inbox["id"]] = inbox

    def calls(self, after: int = 0) -> list[dict[str, Any]]:
        return [call for call in self._calls if call["seq"] > after]

    # ------------------------------------------------------------------ fake Telegram Bot API

    async def _telegram(self, request: Request) -> JSONResponse:
        token, method = request.path_params["token"], request.path_params["method"]
        inbox = next((inbox for inbox in self._inboxes.values() if inbox.get("bot_token") == token), None)
        if inbox is None:
            status, body = _telegram_error(401, "Unauthorized")
            return JSONResponse(body, status_code=status)
        payload = await self._payload(request)
        # Bot API method names are case-insensitive.
        implementation = self._telegram_methods.get(method.lower())
        status, body = implementation(inbox, payload) if implementation else _telegram_error(404, "Not Found")
        self._calls.append({"seq": next(self._sequence), "channel": "telegram", "token": token, "method": method,
                            "payload": payload, "at": time.time(), "status": status, "response": body})
        return JSONResponse(body, status_code=status)

    @staticmethod
    async def _payload(request: Request) -> dict[str, Any]:
        """Bot API parameters come as a query string, JSON, or a form (multipart when a file is uploaded)."""
        payload: dict[str, Any] = dict(request.query_params)
        if request.headers.get("content-type", "").startswith("application/json"):
            payload |= await request.json()
        elif request.method == "POST":
            form = await request.form()
            payload |= {name: value if isinstance(value, str) else f"<file {value.filename}>"
                        for name, value in form.items()}
        return payload

    def _bot(self, inbox: dict[str, Any]) -> dict[str, Any]:
        bot_id = str(inbox.get("bot_token", "")).split(":")[0]
        username = re.sub(r"\W+", "_", str(inbox.get("name", "switchboard"))).strip("_").lower()
        return {"id": int(bot_id) if bot_id.isdigit() else 1, "is_bot": True,
                "first_name": inbox.get("name", "Switchboard"),
                "username": username if username.endswith("bot") else f"{username}_bot"}  # Telegram requires it

    def _send_message(self, inbox: dict[str, Any], payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self._fail_next_send is not None:
            failure, self._fail_next_send = self._fail_next_send, None
            return _telegram_error(int(failure["error_code"]), str(failure["description"]))
        chat_id = _chat_id(payload.get("chat_id"))
        if chat_id is None:
            return _telegram_error(400, "Bad Request: chat not found")
        if not str(payload.get("text") or "").strip():
            return _telegram_error(400, "Bad Request: message text is empty")
        message = {
            "message_id": next(self._message_ids[chat_id]),
            "from": self._bot(inbox),
            "chat": {"id": chat_id, "type": "private", **self._customers.get(chat_id, {})},
            "date": int(time.time()),
            "text": payload["text"],
        }
        return 200, {"ok": True, "result": message}

    @staticmethod
    def _get_file(inbox: dict[str, Any], payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        file_id = str(payload.get("file_id") or "")
        if not file_id:
            return _telegram_error(400, "Bad Request: file_id is empty")
        return 200, {"ok": True, "result": {"file_id": file_id, "file_unique_id": file_id[-16:], "file_size": 64,
                                            "file_path": f"documents/{file_id}"}}

    async def _telegram_file(self, request: Request) -> Response:
        return Response(f"simulated file {request.path_params['file_path']}\n".encode(),
                        media_type="application/octet-stream")

    # ------------------------------------------------------------------ control API

    async def _fail_next(self, request: Request) -> JSONResponse:
        body = await request.json() if await request.body() else {}
        self._fail_next_send = {"error_code": int(body.get("error_code", 403)),
                                "description": body.get("description", "Forbidden: bot was blocked by the user")}
        return JSONResponse({"armed": self._fail_next_send})

    async def _customer_sends(self, request: Request) -> JSONResponse:
        """Write as a customer: a real Bot API Update, posted to the service's webhook with the inbox's secret."""
        inbox = self._inboxes.get(request.path_params["inbox_id"])
        if inbox is None or inbox.get("channel") != "telegram":
            return JSONResponse({"detail": "no such Telegram inbox"}, status_code=404)
        data = await request.json()
        chat_id = int(data["chat_id"])
        names = {key: data[key] for key in ("first_name", "last_name", "username") if data.get(key)}
        names.setdefault("first_name", "Customer")
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
        update = {"update_id": next(self._update_ids), "message": message}
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(
                f"{self._gateway_url}/webhooks/telegram/{inbox['id']}",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": str(inbox.get("webhook_secret", ""))},
            )
        return JSONResponse({"status": response.status_code, "update": update})

    async def _outbox(self, request: Request) -> JSONResponse:
        return JSONResponse({"calls": self.calls(int(request.query_params.get("after", 0)))})

    async def _list_inboxes(self, request: Request) -> JSONResponse:
        # Local only, so the secrets may be shown: they are what a developer needs to post webhooks by hand.
        return JSONResponse({"inboxes": list(self._inboxes.values())})

    async def _mail(self, request: Request) -> JSONResponse:
        return JSONResponse({"messages": [_mail_summary(message) for message in sent_emails()]})


def _mail_summary(message: Any) -> dict[str, Any]:
    """moto keeps formatted, raw and templated messages as different classes; show what each has."""
    fields = ("id", "source", "destinations", "subject", "body", "raw_data", "template", "template_data")
    return {name: getattr(message, name) for name in fields if hasattr(message, name)}
