"""A fake VK API on 127.0.0.1 that records method calls, answers from a script and deduplicates random_id as VK does."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator

import pytest

from tests.support.local_server import Received, local_server


class FakeVkApi:
    """Records every call as (method, form, query); unscripted messages.send calls succeed like VK's would.

    A send whose (peer, random_id) was seen before returns the earlier message instead of a new one, which is how VK
    makes a retried send harmless; ``delivered`` lists what a customer would actually see.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str], str]] = []
        self.script: list[tuple[int, bytes]] = []
        self.delivered: list[dict[str, str]] = []
        self._sent: dict[tuple[str, str], dict] = {}
        self.base_url = ""

    def answer(self, status: int, body: dict | bytes) -> None:
        self.script.append((status, body if isinstance(body, bytes) else json.dumps(body).encode()))

    def error(self, code: int, message: str) -> None:
        """Script VK's error shape, which comes with HTTP 200."""
        self.answer(200, {"error": {"error_code": code, "error_msg": message, "request_params": []}})

    def methods(self) -> list[str]:
        return [method for method, _form, _query in self.calls]

    def reply_to(self, path: str, query: str, form: dict[str, str]) -> tuple[int, bytes]:
        method = path.rsplit("/", 1)[-1]
        self.calls.append((method, form, query))
        if self.script:
            return self.script.pop(0)
        if method == "messages.send":
            return 200, json.dumps({"response": self._send(form)}).encode()
        return 200, json.dumps({"response": 1}).encode()

    def _send(self, form: dict[str, str]) -> object:
        peer = form.get("peer_ids") or form.get("peer_id") or "0"
        key = (peer, form.get("random_id", "0"))
        if key not in self._sent or key[1] == "0":
            self.delivered.append(form)
            number = len(self.delivered)
            self._sent[key] = {"peer_id": int(peer), "message_id": 48300 + number,
                               "conversation_message_id": 1500 + number}
        result = self._sent[key]
        return [result] if "peer_ids" in form else result["message_id"]


@pytest.fixture
def vk_api() -> Iterator[FakeVkApi]:
    api = FakeVkApi()

    def answer(request: Received) -> tuple[int, bytes, dict[str, str]]:
        path, _, query = request.path.partition("?")
        form = dict(urllib.parse.parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
        status, body = api.reply_to(path, query, form)
        return status, body, {}

    with local_server(answer) as url:
        api.base_url = url
        yield api
