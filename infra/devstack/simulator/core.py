"""What every simulated platform shares: the demo inboxes, the outbox of calls the service made, the failures armed
with fail-next, and the way back to the service's webhooks through the gateway."""

from __future__ import annotations

import itertools
import json
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse

WEBHOOK_TIMEOUT_SECONDS = 30


def address(value: Any) -> str:
    """A customer address as the simulator compares them: without a ``whatsapp:`` prefix or a leading ``+``."""
    return str(value if value is not None else "").removeprefix("whatsapp:").lstrip("+")


def extra(inbox: dict[str, Any], key: str) -> str:
    """One of the inbox's channel settings (phone_number_id, group_id, account_sid…), as a string."""
    value = (inbox.get("extra") or {}).get(key)
    return "" if value is None else str(value)


@dataclass
class Failure:
    """An armed fail-next: the answer the platform gives the next send (to ``recipient``, if one is named).

    ``body`` None means the platform's usual refusal, built for the request it refuses."""

    status: int
    body: Any = None
    recipient: str | None = None

    def matches(self, recipient: Any) -> bool:
        return self.recipient is None or address(self.recipient) == address(recipient)


class Failures:
    """Failures armed per channel, each used up by the first message send it matches."""

    def __init__(self) -> None:
        self._armed: defaultdict[str, list[Failure]] = defaultdict(list)

    def arm(self, channel: str, failure: Failure) -> None:
        self._armed[channel].append(failure)

    def disarm(self, channel: str) -> None:
        self._armed.pop(channel, None)

    def take(self, channel: str, recipient: Any) -> Failure | None:
        armed = self._armed.get(channel, [])
        found = next((failure for failure in armed if failure.matches(recipient)), None)
        if found is not None:
            armed.remove(found)
        return found

    def armed(self) -> dict[str, list[dict[str, Any]]]:
        return {channel: [asdict(failure) for failure in armed] for channel, armed in self._armed.items() if armed}


class Outbox:
    """Every call the service made to a fake platform API, numbered in arrival order."""

    def __init__(self) -> None:
        self._calls: list[dict[str, Any]] = []
        self._sequence = itertools.count(1)

    def record(self, channel: str, inbox: dict[str, Any] | None, method: str, path: str, payload: Any,
               answer: Answer, **fields: Any) -> dict[str, Any]:
        call = {"seq": next(self._sequence), "channel": channel, "inbox_id": inbox["id"] if inbox else None,
                "method": method, "path": path, "payload": payload, "status": answer.status,
                "response": answer.body, "at": time.time(), "recipient": answer.recipient, "text": answer.text,
                "external_id": answer.external_id, **fields}
        self._calls.append(call)
        return call

    def calls(self, after: int = 0) -> list[dict[str, Any]]:
        return [call for call in self._calls if call["seq"] > after]

    def find(self, channel: str, external_id: str) -> dict[str, Any] | None:
        """The successful send that created the message ``external_id``."""
        return next((call for call in reversed(self._calls)
                     if call["channel"] == channel and call["external_id"] == external_id), None)

    def last_sent_to(self, channel: str, inbox_id: str, recipient: Any) -> dict[str, Any] | None:
        return next((call for call in reversed(self._calls)
                     if call["channel"] == channel and call["inbox_id"] == inbox_id and call["external_id"]
                     and address(call["recipient"]) == address(recipient)), None)


@dataclass
class Answer:
    """A fake API's answer to one call, with what the outbox and the page need to know about it."""

    status: int
    body: Any
    recipient: Any = None  # who the message was for, as the request named them
    text: str | None = None  # what the customer would read
    external_id: str | None = None  # the id the platform gave the message (successful sends only)
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, status_code=self.status, headers=self.headers)


class Inboxes:
    """The inboxes whose credentials the fake APIs accept: the demo ones and any a test adds."""

    def __init__(self) -> None:
        self._by_id: dict[str, dict[str, Any]] = {}

    def replace(self, inboxes: list[dict[str, Any]]) -> None:
        self._by_id = {inbox["id"]: inbox for inbox in inboxes}

    def add(self, inbox: dict[str, Any]) -> None:
        self._by_id[inbox["id"]] = inbox

    def all(self) -> list[dict[str, Any]]:
        return list(self._by_id.values())

    def get(self, inbox_id: str, channel: str) -> dict[str, Any] | None:
        inbox = self._by_id.get(inbox_id)
        return inbox if inbox is not None and inbox.get("channel") == channel else None

    def find(self, channels: tuple[str, ...], test: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        return next((inbox for inbox in self._by_id.values() if inbox.get("channel") in channels and test(inbox)),
                    None)


class Webhooks:
    """Posts what a platform would post to the service, through the gateway as the platform reaches it."""

    def __init__(self, gateway_url: str, public_base: str | None = None) -> None:
        self.gateway_url = gateway_url.rstrip("/")
        # The base platforms are told to call (PUBLIC_WEBHOOK_BASE); Twilio signs URLs under it.
        self.public_base = (public_base or gateway_url).rstrip("/")

    def public_url(self, channel: str, inbox_id: str) -> str:
        return f"{self.public_base}/webhooks/{channel}/{inbox_id}"

    async def post(self, channel: str, inbox_id: str, content: bytes, headers: dict[str, str]) -> httpx.Response:
        return await self.post_to(f"{self.gateway_url}/webhooks/{channel}/{inbox_id}", content, headers)

    async def post_to(self, url: str, content: bytes, headers: dict[str, str]) -> httpx.Response:
        async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_SECONDS) as client:
            return await client.post(url, content=content, headers=headers)


@dataclass
class Context:
    """What the platform modules share."""

    inboxes: Inboxes
    outbox: Outbox
    failures: Failures
    webhooks: Webhooks
    # The names customers wrote with, by (channel, platform user id): what the platforms' profile APIs tell.
    people: dict[tuple[str, str], str] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------- request helpers


async def json_body(request: Request) -> dict[str, Any]:
    """A control request's JSON object ({} when the body is empty)."""
    raw = await request.body()
    if not raw:
        return {}
    data = json.loads(raw)
    return data if isinstance(data, dict) else {}


async def form_pairs(request: Request) -> list[tuple[str, str]]:
    """A form body as (name, value) pairs in order, repeated names kept (Twilio's MediaUrl)."""
    return urllib.parse.parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True)


def missing(data: dict[str, Any], *names: str) -> JSONResponse | None:
    """A 400 naming the first control field that is absent or empty ("a|b": either will do), else None."""
    for name in names:
        if all(data.get(option) in (None, "") for option in name.split("|")):
            return JSONResponse({"detail": f"{' or '.join(name.split('|'))} is required"}, status_code=400)
    return None


async def customer_request(context: Context, request: Request, channel: str, what: str,
                           *required: str) -> tuple[dict[str, Any], dict[str, Any]] | JSONResponse:
    """The inbox and JSON body of a customer-side control request, or the 404/400 answer that refuses it."""
    inbox = context.inboxes.get(request.path_params["inbox_id"], channel)
    if inbox is None:
        return not_found(what)
    data = await json_body(request)
    return missing(data, *required) or (inbox, data)


def not_found(what: str) -> JSONResponse:
    return JSONResponse({"detail": f"no such {what}"}, status_code=404)


def customer_result(response: httpx.Response, body: Any, **fields: Any) -> JSONResponse:
    """What a customer-side control endpoint answers: the webhook's status and the body the platform posted."""
    return JSONResponse({"status": response.status_code, "body": body, "response": response.text, **fields})


def now_seconds() -> int:
    return int(time.time())


def now_millis() -> int:
    return int(time.time() * 1000)
