"""Driving the running local stack as its users do: platforms post webhooks, operators call the API."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from infra.devstack.stack import LocalStack


def eventually(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(interval)


class Operator:
    """An operator signed in through POST /v1/auth/login, calling the REST API like the web client."""

    def __init__(self, stack: LocalStack, email: str, password: str) -> None:
        self.http = httpx.Client(base_url=stack.urls["api"], timeout=30)
        answer = self.http.post("/v1/auth/login", json={"email": email, "password": password})
        assert answer.status_code == 200, answer.text
        session = answer.json()
        self.token = session["id_token"]
        self.id = session["operator"]["id"]
        self.http.headers["Authorization"] = f"Bearer {self.token}"

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params)

    def post(self, path: str, body: dict | None = None) -> httpx.Response:
        return self.http.post(path, json=body or {})

    def conversations(self, **params: Any) -> list[dict]:
        answer = self.get("/v1/conversations", **params)
        assert answer.status_code == 200, answer.text
        return answer.json()["items"]

    def conversation(self, conversation_id: str) -> dict:
        answer = self.get(f"/v1/conversations/{conversation_id}")
        assert answer.status_code == 200, answer.text
        return answer.json()


def demo_operator(stack: LocalStack, email: str) -> Operator:
    person = next(p for p in stack.demo["operators"] if p["email"] == email)
    return Operator(stack, person["email"], person["password"])


def demo_inbox(stack: LocalStack, channel: str) -> dict:
    return next(inbox for inbox in stack.demo["inboxes"] if inbox["channel"] == channel)


class TelegramCustomer:
    """A Telegram user writing to the demo bot: real Bot API updates, posted with the inbox's secret."""

    _update_ids = iter(range(10_000_000, 20_000_000))

    def __init__(self, stack: LocalStack, chat_id: int, first_name: str = "Ada", inbox: dict | None = None) -> None:
        self.stack, self.chat_id, self.first_name = stack, chat_id, first_name
        self.inbox = inbox or demo_inbox(stack, "telegram")
        self._message_ids = iter(range(1, 1_000_000))

    def update(self, text: str) -> dict:
        chat = {"id": self.chat_id, "first_name": self.first_name, "type": "private"}
        return {"update_id": next(self._update_ids), "message": {
            "message_id": next(self._message_ids), "from": {"id": self.chat_id, "is_bot": False,
                                                            "first_name": self.first_name},
            "chat": chat, "date": int(time.time()), "text": text}}

    def post(self, body: bytes | dict, secret: str | None = None, inbox_id: str | None = None) -> httpx.Response:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        secret = self.inbox["webhook_secret"] if secret is None else secret
        if secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        url = f"{self.stack.urls['webhooks']}/telegram/{inbox_id or self.inbox['id']}"
        return httpx.post(url, content=raw, headers=headers, timeout=30)

    def says(self, text: str) -> httpx.Response:
        answer = self.post(self.update(text))
        assert answer.status_code == 200, answer.text
        return answer

    def replies_received(self) -> list[str]:
        calls = self.stack.simulator.calls()
        return [call["payload"]["text"] for call in calls
                if call.get("method", "").lower() == "sendmessage" and str(call["payload"].get("chat_id"))
                == str(self.chat_id) and call.get("status", 200) == 200]


def conversation_of(operator: Operator, customer_name: str, **filters: Any) -> dict | None:
    for row in operator.conversations(**filters):
        if row["contact"]["name"] == customer_name:
            return row
    return None


def frames(socket: Any, seconds: float) -> list[dict]:
    """Every frame a WebSocket receives within ``seconds``."""
    received, deadline = [], time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            received.append(json.loads(socket.recv(timeout=left)))
        except TimeoutError:
            break
    return received
