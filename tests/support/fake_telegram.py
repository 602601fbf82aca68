"""A fake Telegram Bot API on 127.0.0.1 that records calls and answers from a script."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest


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

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status, body = api.reply_to(self.path, json.loads(raw))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # keep pytest output clean
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    api.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield api
    server.shutdown()
    server.server_close()
    thread.join()
