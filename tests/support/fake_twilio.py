"""A fake Twilio Messages API on 127.0.0.1 that records requests (with repeated form keys) and answers from a script."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.support.local_server import Received, local_server


@dataclass(frozen=True)
class TwilioCall:
    path: str
    authorization: str | None
    form: list[tuple[str, str]]  # in order, repeated keys kept

    def value(self, name: str) -> str | None:
        return next((value for key, value in self.form if key == name), None)

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.form if key == name]


class FakeTwilioApi:
    """Records every request; unscripted ones succeed like Messages.json creating a queued message."""

    def __init__(self) -> None:
        self.calls: list[TwilioCall] = []
        self.script: list[tuple[int, bytes, dict[str, str]]] = []
        self.base_url = ""

    def answer(self, status: int, body: dict | bytes, headers: dict[str, str] | None = None) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.script.append((status, raw, headers or {}))

    def error(self, status: int, code: int, message: str, headers: dict[str, str] | None = None) -> None:
        """Script the REST API's error shape."""
        self.answer(status, {"code": code, "message": message, "status": status,
                             "more_info": f"https://www.twilio.com/docs/errors/{code}"}, headers)

    def reply_to(self, call: TwilioCall) -> tuple[int, bytes, dict[str, str]]:
        self.calls.append(call)
        if self.script:
            return self.script.pop(0)
        sid = f"SM{len(self.calls):032x}"
        body = {"sid": sid, "status": "queued", "to": call.value("To"), "from": call.value("From"),
                "messaging_service_sid": call.value("MessagingServiceSid"), "body": call.value("Body"),
                "num_media": str(len(call.values("MediaUrl")))}
        return 201, json.dumps(body).encode(), {}


@pytest.fixture
def twilio_api() -> Iterator[FakeTwilioApi]:
    api = FakeTwilioApi()

    def answer(request: Received) -> tuple[int, bytes, dict[str, str]]:
        form = urllib.parse.parse_qsl(request.body.decode("utf-8"), keep_blank_values=True)
        return api.reply_to(TwilioCall(request.path, request.headers.get("Authorization"), form))

    with local_server(answer) as url:
        api.base_url = url
        yield api
