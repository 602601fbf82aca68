"""WhatsApp Cloud API: the fake ``POST /{phone_number_id}/messages`` and a customer whose messages, button taps and
delivery/read receipts reach the service as signed ``whatsapp_business_account`` webhooks."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from infra.devstack.simulator.core import (
    Answer,
    Context,
    Failure,
    address,
    customer_request,
    customer_result,
    extra,
    json_body,
    not_found,
    now_seconds,
)
from infra.devstack.simulator.meta import (
    graph_error,
    invalid_token,
    meta_body,
    missing_parameter,
    signed_headers,
    unsupported_post,
)

CHANNEL = "whatsapp"
MAX_TEXT = 4096
_KINDS = frozenset({"text", "interactive", "image", "video", "audio", "document", "sticker", "location", "contacts",
                    "template", "reaction"})
_RE_ENGAGEMENT = ("Message failed to send because more than 24 hours have passed since the customer last replied to "
                  "this number.")
_RECEIPTS = frozenset({"sent", "delivered", "read", "failed"})


def re_engagement_error() -> dict[str, Any]:
    """What the Cloud API answers outside the 24-hour customer service window."""
    return graph_error(400, 131047, "(#131047) Re-engagement message", details=_RE_ENGAGEMENT).body


def wamid(phone: str, outgoing: bool) -> str:
    """A message id in WhatsApp's format: ``wamid.`` and base64 of the customer's number and a random part."""
    digits = address(phone).encode("ascii")[:60]
    unique = secrets.token_hex(10).upper().encode("ascii")
    raw = (b"\x1c\x18" + bytes([len(digits)]) + digits + b"\x15\x02\x00" + (b"\x11" if outgoing else b"\x12")
           + b"\x18" + bytes([len(unique)]) + unique + b"\x00")
    return "wamid." + base64.b64encode(raw).decode("ascii")


def _business_account(inbox: dict[str, Any]) -> str:
    """The WhatsApp Business Account id (entry.id): the inbox's, else one derived from the phone number id."""
    configured = extra(inbox, "waba_id")
    digest = hashlib.sha256(extra(inbox, "phone_number_id").encode()).hexdigest()
    return configured or str(100_000_000_000_000 + int(digest[:12], 16) % 900_000_000_000_000)


def _display_number(inbox: dict[str, Any]) -> str:
    configured = extra(inbox, "display_phone_number")
    digits = "".join(char for char in str(inbox.get("name", "")) if char.isdigit())
    return configured or (digits if len(digits) >= 8 else "15550100000")


def _recipient(payload: dict[str, Any]) -> str | None:
    value = payload.get("to") or payload.get("recipient")
    return str(value) if value else None


def _readable(payload: dict[str, Any]) -> str:
    """What the customer would read: the text, the interactive body, a caption, or the kind of message."""
    kind = str(payload.get("type") or "text")
    body = payload.get(kind) if isinstance(payload.get(kind), dict) else {}
    if kind == "text":
        return str(body.get("body") or "")
    if kind == "interactive":
        return str((body.get("body") or {}).get("text") or "")
    return str(body.get("caption") or f"[{kind}]")


def _invalid(payload: dict[str, Any]) -> Answer | None:
    """Graph's refusal of a malformed send, or None."""
    if payload.get("messaging_product") != "whatsapp":
        return missing_parameter("messaging_product")
    if not _recipient(payload):
        return missing_parameter("to")
    kind = str(payload.get("type") or "text")
    if kind not in _KINDS:
        return graph_error(400, 100, f"(#100) Param type must be one of {{{', '.join(sorted(_KINDS))}}} - got "
                                     f"\"{kind}\".")
    if not isinstance(payload.get(kind), dict | list):
        return missing_parameter(kind)
    if kind == "text" and not str(payload["text"].get("body") or "").strip():
        return missing_parameter("text['body']")
    if kind == "text" and len(payload["text"]["body"]) > MAX_TEXT:
        return graph_error(400, 100, f"(#100) Param text['body'] must be at most {MAX_TEXT} characters long.")
    return None


class WhatsApp:
    """The Cloud API's send endpoint, and the WhatsApp customer."""

    channels = (CHANNEL,)

    def __init__(self, context: Context) -> None:
        self._context = context

    def routes(self) -> list[Route]:
        return [
            Route("/api/whatsapp/{inbox_id}/send", self._customer_sends, methods=["POST"]),
            Route("/api/whatsapp/{inbox_id}/status", self._receipt, methods=["POST"]),
        ]

    def failure(self, channel: str, spec: dict[str, Any]) -> Failure:
        """HTTP 400 with Graph error 131047 (the 24-hour window has closed) unless told otherwise."""
        return Failure(int(spec.get("status") or 400), spec.get("body") or re_engagement_error(),
                       spec.get("recipient"))

    # ------------------------------------------------------------------ fake Cloud API

    def send(self, phone_number_id: str, token: str, payload: dict[str, Any]) -> tuple[str, dict | None, Answer]:
        inbox = self._context.inboxes.find(self.channels, lambda candidate: candidate.get("token") == token)
        if inbox is None:
            return CHANNEL, None, invalid_token()
        if extra(inbox, "phone_number_id") != phone_number_id:
            return CHANNEL, inbox, unsupported_post(phone_number_id)
        recipient, text = _recipient(payload), _readable(payload)
        refusal = _invalid(payload) or self._armed_failure(recipient)
        if refusal is not None:
            return CHANNEL, inbox, Answer(refusal.status, refusal.body, recipient=recipient, text=text)
        message_id = wamid(str(recipient), outgoing=True)
        key = "wa_id" if payload.get("to") else "user_id"
        body = {"messaging_product": "whatsapp", "contacts": [{"input": recipient, key: address(recipient)}],
                "messages": [{"id": message_id}]}
        return CHANNEL, inbox, Answer(200, body, recipient=recipient, text=text, external_id=message_id)

    def _armed_failure(self, recipient: str | None) -> Answer | None:
        failure = self._context.failures.take(CHANNEL, recipient)
        return Answer(failure.status, failure.body) if failure else None

    # ------------------------------------------------------------------ customer side

    async def _customer_sends(self, request: Request) -> JSONResponse:
        """{"from", "name", "text"} or {"from", "name", "button": {"id", "title"}} as a signed ``messages`` webhook."""
        found = await customer_request(self._context, request, CHANNEL, "WhatsApp inbox", "from", "text|button")
        if isinstance(found, JSONResponse):
            return found
        inbox, data = found
        phone = address(data["from"])
        message = self._message(inbox, phone, data)
        contact: dict[str, Any] = {"profile": {"name": str(data.get("name") or phone)}, "wa_id": phone}
        if data.get("user_id"):  # a business-scoped user id, for customers Meta identifies without their number
            contact["user_id"] = message["from_user_id"] = str(data["user_id"])
        document = self._webhook(inbox, {"contacts": [contact], "messages": [message]})
        response = await self._post(inbox, document)
        return customer_result(response, document, id=message["id"])

    def _message(self, inbox: dict[str, Any], phone: str, data: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {"from": phone, "id": wamid(phone, outgoing=False),
                                   "timestamp": str(now_seconds())}
        button = data.get("button")
        if isinstance(button, dict):
            message |= {"type": "interactive", "interactive": {
                "type": "button_reply", "button_reply": {"id": str(button["id"]), "title": str(button["title"])}}}
        else:
            message |= {"type": "text", "text": {"body": str(data["text"])}}
        question = data.get("context") or self._last_question(inbox, str(data.get("user_id") or phone), button)
        if question:
            message["context"] = {"from": _display_number(inbox), "id": str(question)}
        return message

    def _last_question(self, inbox: dict[str, Any], customer: str, button: Any) -> str | None:
        """A button tap answers the last message the business sent this customer."""
        if not isinstance(button, dict):
            return None
        sent = self._context.outbox.last_sent_to(CHANNEL, inbox["id"], customer)
        return sent["external_id"] if sent else None

    async def _receipt(self, request: Request) -> JSONResponse:
        """{"wamid", "status": "sent"|"delivered"|"read"|"failed"} for a message the service sent, as a signed
        ``statuses`` webhook."""
        inbox = self._context.inboxes.get(request.path_params["inbox_id"], CHANNEL)
        if inbox is None:
            return not_found("WhatsApp inbox")
        data = await json_body(request)
        sent = self._context.outbox.find(CHANNEL, str(data.get("wamid") or ""))
        if sent is None or sent["inbox_id"] != inbox["id"]:
            return not_found("message sent from this inbox through the fake Cloud API")
        if data.get("status") not in _RECEIPTS:
            return JSONResponse({"detail": f"status must be one of {sorted(_RECEIPTS)}"}, status_code=400)
        document = self._webhook(inbox, {"statuses": [_status(sent, str(data["status"]))]})
        return customer_result(await self._post(inbox, document), document)

    def _webhook(self, inbox: dict[str, Any], value: dict[str, Any]) -> dict[str, Any]:
        metadata = {"display_phone_number": _display_number(inbox), "phone_number_id": extra(inbox, "phone_number_id")}
        change = {"value": {"messaging_product": "whatsapp", "metadata": metadata, **value}, "field": "messages"}
        return {"object": "whatsapp_business_account", "entry": [{"id": _business_account(inbox),
                                                                  "changes": [change]}]}

    async def _post(self, inbox: dict[str, Any], document: dict[str, Any]) -> httpx.Response:
        body = meta_body(document)
        return await self._context.webhooks.post(CHANNEL, inbox["id"], body,
                                                 signed_headers(body, str(inbox.get("webhook_secret", ""))))


def _status(sent: dict[str, Any], status: str) -> dict[str, Any]:
    recipient = str(sent["recipient"])
    item: dict[str, Any] = {"id": sent["external_id"], "status": status, "timestamp": str(now_seconds())}
    item |= {"recipient_user_id": recipient} if sent["payload"].get("recipient") else {"recipient_id": recipient}
    if status in ("sent", "delivered"):
        item["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "service", "type": "regular"}
    if status == "failed":
        item["errors"] = [{"code": 131047, "title": "Re-engagement message", "message": "Re-engagement message",
                           "error_data": {"details": _RE_ENGAGEMENT}}]
    return item
