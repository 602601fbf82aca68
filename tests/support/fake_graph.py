"""A fake Meta Graph API on 127.0.0.1 (WhatsApp Cloud API and Messenger/Instagram Send API) that records calls and
answers from a script."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest


@dataclass(frozen=True)
class GraphCall:
    path: str
    payload: dict
    headers: dict[str, str]  # lower-cased names


class FakeGraphApi:
    """Records every call and answers from a script; unscripted calls succeed the way each product's Send API does."""

    def __init__(self) -> None:
        self.calls: list[GraphCall] = []
        self.script: list[tuple[int, bytes, dict[str, str]]] = []
        self.base_url = ""
        self._lock = threading.Lock()

    def answer(self, status: int, body: dict | bytes, headers: dict[str, str] | None = None) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.script.append((status, raw, headers or {}))

    def fail(self, status: int, code: int, message: str, *, subcode: int | None = None, details: str | None = None,
             headers: dict[str, str] | None = None) -> None:
        """Script a Graph error answer shaped the way Meta sends them."""
        error: dict = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEfGh123"}
        if subcode is not None:
            error["error_subcode"] = subcode
        if details is not None:
            error["error_data"] = {"messaging_product": "whatsapp", "details": details}
        self.answer(status, {"error": error}, headers)

    @property
    def payloads(self) -> list[dict]:
        return [call.payload for call in self.calls]

    def reply_to(self, path: str, payload: dict, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        with self._lock:
            self.calls.append(GraphCall(path, payload, headers))
            if self.script:
                return self.script.pop(0)
            return 200, json.dumps(self._success(payload, len(self.calls))).encode(), {}

    @staticmethod
    def _success(payload: dict, number: int) -> dict:
        if payload.get("messaging_product") == "whatsapp":
            recipient = payload.get("to") or payload.get("recipient")
            contact = {"input": recipient, "wa_id" if payload.get("to") else "user_id": recipient}
            return {"messaging_product": "whatsapp", "contacts": [contact],
                    "messages": [{"id": f"wamid.FAKE{number:04d}"}]}
        return {"recipient_id": (payload.get("recipient") or {}).get("id"), "message_id": f"m_FAKE{number:04d}"}


# Named apart from the fixture so test modules can import it without shadowing the ``graph_api`` argument (F811).
@pytest.fixture(name="graph_api")
def graph_api_fixture() -> Iterator[FakeGraphApi]:
    api = FakeGraphApi()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, body, extra = api.reply_to(self.path, json.loads(raw), headers)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # keep pytest output clean
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    api.base_url = f"http://127.0.0.1:{server.server_address[1]}/v21.0"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield api
    server.shutdown()
    server.server_close()
    thread.join()
