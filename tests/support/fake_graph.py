"""A fake Meta Graph API on 127.0.0.1 (WhatsApp Cloud API and Messenger/Instagram Send API) that records calls and
answers from a script."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.support.local_server import Received, local_server


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


@pytest.fixture
def graph_api() -> Iterator[FakeGraphApi]:
    api = FakeGraphApi()

    def answer(request: Received) -> tuple[int, bytes, dict[str, str]]:
        headers = {name.lower(): value for name, value in request.headers.items()}
        return api.reply_to(request.path, json.loads(request.body), headers)

    with local_server(answer) as url:
        api.base_url = f"{url}/v21.0"
        yield api
