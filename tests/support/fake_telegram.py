"""A fake Telegram Bot API on 127.0.0.1 that records calls and answers from a script."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.support.local_server import Received, local_server


class FakeBotApi:
    """Records every call and answers from a script; unscripted calls succeed like sendMessage would."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.script: list[tuple[int, bytes]] = []
        self.base_url = ""

    def answer(self, status: int, body: dict | bytes) -> None:
        self.script.append((status, body if isinstance(body, bytes) else json.dumps(body).encode()))

    def reply_to(self, path: str, payload: dict) -> tuple[int, bytes]:
        self.calls.append((path, payload))
        if self.script:
            return self.script.pop(0)
        message_id = 9000 + len(self.calls)
        result = {"message_id": message_id, "chat": {"id": int(payload.get("chat_id", 0)), "type": "private"},
                  "date": 1790000000, "text": payload.get("text", "")}
        return 200, json.dumps({"ok": True, "result": result}).encode()


@pytest.fixture
def bot_api() -> Iterator[FakeBotApi]:
    api = FakeBotApi()

    def answer(request: Received) -> tuple[int, bytes, dict[str, str]]:
        status, body = api.reply_to(request.path, json.loads(request.body))
        return status, body, {}

    with local_server(answer) as url:
        api.base_url = url
        yield api
