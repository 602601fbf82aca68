"""Messenger and Instagram: the fake Send API (``POST /me/messages``, the Page or Instagram token names the inbox)
and a customer whose messages and quick-reply taps reach the service as signed ``messaging`` webhooks."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from infra.devstack.simulator.core import (
    Answer,
    Context,
    Failure,
    customer_result,
    extra,
    json_body,
    missing,
    not_found,
    now_millis,
)
from infra.devstack.simulator.meta import graph_error, invalid_token, meta_body, missing_parameter, signed_headers

_MESSAGING_TYPES = frozenset({"RESPONSE", "UPDATE", "MESSAGE_TAG"})
_OUTSIDE_WINDOW = ("(#10) This message is sent outside of allowed window. Learn more about the new policy here: "
                   "https://developers.facebook.com/docs/messenger-platform/policy-overview")


@dataclass(frozen=True)
class Product:
    """What differs between Messenger and Instagram on the simulator's side."""

    channel: str
    object: str  # the webhook's top-level ``object``
    account_key: str  # the inbox setting naming the Page or Instagram account
    max_text: int
    window_subcode: int  # the error subcode of a send outside the 24-hour window


MESSENGER = Product("messenger", "page", "page_id", 2000, 2018278)
INSTAGRAM = Product("instagram", "instagram", "instagram_account_id", 1000, 2534022)
PRODUCTS = {product.channel: product for product in (MESSENGER, INSTAGRAM)}


def message_id(product: Product, account: str) -> str:
    """A message id in the product's format: ``m_…`` on Messenger, base64 of an ``ig_item`` on Instagram."""
    if product is MESSENGER:
        return "m_" + secrets.token_urlsafe(66)
    item = f"ig_item:1:IGMessageID:{account}:{secrets.randbits(127)}:{secrets.randbits(55)}"
    return base64.urlsafe_b64encode(item.encode()).decode("ascii").rstrip("=")


def outside_window(product: Product) -> dict[str, Any]:
    return graph_error(400, 10, _OUTSIDE_WINDOW, subcode=product.window_subcode).body


def _part(payload: dict[str, Any], key: str) -> dict[str, Any]:
    return payload[key] if isinstance(payload.get(key), dict) else {}


def _readable(message: dict[str, Any]) -> str:
    attachment = message.get("attachment") if isinstance(message.get("attachment"), dict) else {}
    return str(message.get("text") or (f"[{attachment.get('type', 'attachment')}]" if attachment else ""))


def _invalid(product: Product, payload: dict[str, Any]) -> Answer | None:
    """The Send API's refusal of a malformed call, or None."""
    message = _part(payload, "message")
    if not _part(payload, "recipient").get("id"):
        return missing_parameter("recipient")
    if "message" not in payload:
        return graph_error(400, 100, "(#100) Must send either message or sender action")
    if payload.get("messaging_type", "RESPONSE") not in _MESSAGING_TYPES:
        return graph_error(400, 100, "(#100) Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}")
    if not message.get("text") and not isinstance(message.get("attachment"), dict):
        return graph_error(400, 100, "(#100) Must send either text or attachment")
    if len(str(message.get("text") or "")) > product.max_text:
        return graph_error(400, 100, f"(#100) Length of param message[text] must be less than or equal to "
                                     f"{product.max_text}")
    return None


class SendApi:
    """The Send API of both products, and their customers."""

    channels = tuple(PRODUCTS)

    def __init__(self, context: Context) -> None:
        self._context = context

    def routes(self) -> list[Route]:
        return [Route(f"/api/{channel}/{{inbox_id}}/send", self._customer_of(PRODUCTS[channel]), methods=["POST"])
                for channel in self.channels]

    def failure(self, channel: str, spec: dict[str, Any]) -> Failure:
        """HTTP 400 with Graph error 10 and the product's outside-the-window subcode unless told otherwise."""
        return Failure(int(spec.get("status") or 400), spec.get("body") or outside_window(PRODUCTS[channel]),
                       spec.get("recipient"))

    # ------------------------------------------------------------------ fake Send API

    def send(self, object_id: str, token: str, payload: dict[str, Any]) -> tuple[str, dict | None, Answer]:
        inbox = self._context.inboxes.find(self.channels, lambda candidate: candidate.get("token") == token)
        if inbox is None:
            return MESSENGER.channel, None, invalid_token()
        product = PRODUCTS[inbox["channel"]]
        recipient = _part(payload, "recipient").get("id")
        text = _readable(_part(payload, "message"))
        refusal = _invalid(product, payload) or self._armed_failure(product, recipient)
        if refusal is not None:
            return product.channel, inbox, Answer(refusal.status, refusal.body, recipient=recipient, text=text)
        mid = message_id(product, extra(inbox, product.account_key))
        return product.channel, inbox, Answer(200, {"recipient_id": str(recipient), "message_id": mid},
                                              recipient=recipient, text=text, external_id=mid)

    def _armed_failure(self, product: Product, recipient: Any) -> Answer | None:
        failure = self._context.failures.take(product.channel, recipient)
        return Answer(failure.status, failure.body) if failure else None

    # ------------------------------------------------------------------ customer side

    def _customer_of(self, product: Product) -> Callable[[Request], Awaitable[JSONResponse]]:
        async def customer_sends(request: Request) -> JSONResponse:
            inbox = self._context.inboxes.get(request.path_params["inbox_id"], product.channel)
            if inbox is None:
                return not_found(f"{product.channel} inbox")
            data = await json_body(request)
            refused = missing(data, "from", "text")
            return refused if refused is not None else await self._customer_sends(product, inbox, data)

        return customer_sends

    async def _customer_sends(self, product: Product, inbox: dict[str, Any], data: dict[str, Any]) -> JSONResponse:
        """{"from": PSID or IGSID, "text"[, "quick_reply": payload]} as a signed ``messaging`` webhook."""
        account = extra(inbox, product.account_key)
        if data.get("name"):
            self._context.people[(product.channel, str(data["from"]))] = str(data["name"])
        message: dict[str, Any] = {"mid": message_id(product, account), "text": str(data["text"])}
        if data.get("quick_reply"):
            message["quick_reply"] = {"payload": str(data["quick_reply"])}
        at = now_millis()
        event = {"sender": {"id": str(data["from"])}, "recipient": {"id": account}, "timestamp": at,
                 "message": message}
        document = {"object": product.object, "entry": [{"time": at, "id": account, "messaging": [event]}]}
        body = meta_body(document)
        response = await self._context.webhooks.post(product.channel, inbox["id"], body,
                                                     signed_headers(body, str(inbox.get("webhook_secret", ""))))
        return customer_result(response, document, id=message["mid"])
