"""Twilio: the fake Messages API at /sim/twilio/2010-04-01/Accounts/{AccountSid}/Messages.json (with signed status
callbacks when StatusCallback is given) and an SMS or WhatsApp customer whose messages reach the service as signed
form posts."""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import re
import secrets
import urllib.parse
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any

import httpx
from starlette.background import BackgroundTask
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
    form_pairs,
)

CHANNEL = "twilio"
API_VERSION = "2010-04-01"
MAX_TEXT = 1600
FORM_TYPE = "application/x-www-form-urlencoded"
UNSUBSCRIBED = (21610, "Attempt to send to unsubscribed recipient")
CALLBACK_DELAY_SECONDS = 0.05  # between "sent" and "delivered", so they arrive in that order
_E164 = re.compile(r"(whatsapp:)?\+[1-9]\d{6,14}")
log = logging.getLogger(__name__)


def signature(url: str, pairs: list[tuple[str, str]], auth_token: str) -> str:
    """X-Twilio-Signature, computed by the adapter's own function (imported late: the shared layer is put on sys.path
    when the stack starts, after this module is imported)."""
    from switchboard.channels.twilio import signature as twilio_signature

    return twilio_signature(url, pairs, auth_token)


def twilio_error(status: int, code: int, message: str) -> Answer:
    """The REST API's error shape."""
    return Answer(status, {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                           "status": status})


def auth_token(inbox: dict[str, Any]) -> str:
    """The account's auth token: the inbox's own setting, else its webhook secret (what Twilio signs with)."""
    return extra(inbox, "auth_token") or str(inbox.get("webhook_secret") or "")


def message_sid() -> str:
    return "SM" + secrets.token_hex(16)


def _basic_auth(header: str) -> tuple[str, str]:
    if not header.lower().startswith("basic "):
        return "", ""
    try:
        user, _, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    return user, password


def _invalid(inbox: dict[str, Any], form: dict[str, str], media: list[str]) -> Answer | None:
    """The Messages API's refusal of a malformed create, or None."""
    if not form.get("To"):
        return twilio_error(400, 21604, "A 'To' phone number is required.")
    if not _E164.fullmatch(form["To"]):
        return twilio_error(400, 21211, f"The 'To' number {form['To']} is not a valid phone number.")
    if not form.get("From") and not form.get("MessagingServiceSid"):
        return twilio_error(400, 21603, "A 'From' phone number is required.")
    if form.get("From") and form["From"] != extra(inbox, "from"):
        return twilio_error(400, 21606, f"The From phone number {form['From']} is not a valid, SMS-capable inbound "
                                        "phone number or short code for your account.")
    if not form.get("Body") and not media:
        return twilio_error(400, 21602, "Message body is required.")
    if len(form.get("Body", "")) > MAX_TEXT:
        return twilio_error(400, 21617, f"The concatenated message body exceeds the {MAX_TEXT} character limit.")
    return None


def _recorded(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """The form as the outbox shows it: one value per name, a list for a repeated one (MediaUrl)."""
    recorded: dict[str, Any] = {}
    for name, value in pairs:
        if name in recorded:
            previous = recorded[name]
            recorded[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            recorded[name] = value
    return recorded


def _resource(account_sid: str, sid: str, form: dict[str, str], media: list[str]) -> dict[str, Any]:
    """A Message resource as Messages.json answers a create: queued, nothing priced yet."""
    now = formatdate(usegmt=True)
    uri = f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}"
    return {"account_sid": account_sid, "api_version": API_VERSION, "body": form.get("Body", ""),
            "date_created": now, "date_sent": None, "date_updated": now, "direction": "outbound-api",
            "error_code": None, "error_message": None, "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"), "num_media": str(len(media)),
            "num_segments": str(max(1, -(-len(form.get("Body", "")) // 153))), "price": None, "price_unit": "USD",
            "sid": sid, "status": "queued", "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": form.get("To"), "uri": f"{uri}.json"}


def _status_form(resource: dict[str, Any], status: str) -> list[tuple[str, str]]:
    """A status callback's parameters, as Twilio posts them for an SMS."""
    pairs = [("SmsSid", resource["sid"]), ("SmsStatus", status), ("MessageStatus", status), ("To", resource["to"]),
             ("MessageSid", resource["sid"]), ("AccountSid", resource["account_sid"]),
             ("From", resource["from"] or ""), ("ApiVersion", API_VERSION)]
    if resource["messaging_service_sid"]:
        pairs.append(("MessagingServiceSid", resource["messaging_service_sid"]))
    if status == "delivered":
        # The carrier's delivery time as Twilio passes it on: YYMMDDhhmm.
        pairs.append(("RawDlrDoneDate", datetime.now(UTC).strftime("%y%m%d%H%M")))
    return pairs


class Twilio:
    """The fake Messages API and the SMS/WhatsApp customer."""

    channels = (CHANNEL,)

    def __init__(self, context: Context) -> None:
        self._context = context

    def routes(self) -> list[Route]:
        return [
            Route(f"/twilio/{API_VERSION}/Accounts/{{account_sid}}/Messages.json", self._create, methods=["POST"]),
            Route("/api/twilio/{inbox_id}/send", self._customer_sends, methods=["POST"]),
        ]

    def failure(self, channel: str, spec: dict[str, Any]) -> Failure:
        """HTTP 400 with error 21610 (the customer texted STOP) unless told otherwise."""
        code, message = UNSUBSCRIBED
        return Failure(int(spec.get("status") or 400),
                       spec.get("body") or twilio_error(400, code, message).body, spec.get("recipient"))

    # ------------------------------------------------------------------ fake Messages API

    async def _create(self, request: Request) -> JSONResponse:
        account_sid = request.path_params["account_sid"]
        user, password = _basic_auth(request.headers.get("authorization", ""))
        inbox = self._context.inboxes.find(self.channels, lambda candidate: (
            extra(candidate, "account_sid") == user and auth_token(candidate) == password))
        pairs = await form_pairs(request)
        answer, resource = self._answer(inbox, account_sid, user, pairs)
        self._context.outbox.record(CHANNEL, inbox, "POST", request.url.path, _recorded(pairs), answer)
        callback = dict(pairs).get("StatusCallback")
        task = BackgroundTask(self._report, callback, resource, inbox) if resource and callback and inbox else None
        return JSONResponse(answer.body, status_code=answer.status, background=task)

    def _answer(self, inbox: dict[str, Any] | None, account_sid: str, user: str,
                pairs: list[tuple[str, str]]) -> tuple[Answer, dict[str, Any] | None]:
        if inbox is None or account_sid != user:
            return twilio_error(401, 20003, "Authenticate"), None
        form = dict(pairs)
        media = [value for name, value in pairs if name == "MediaUrl"]
        recipient, text = form.get("To"), form.get("Body", "")
        refusal = _invalid(inbox, form, media) or self._armed_failure(recipient)
        if refusal is not None:
            return Answer(refusal.status, refusal.body, recipient=recipient, text=text), None
        resource = _resource(account_sid, message_sid(), form, media)
        return Answer(201, resource, recipient=recipient, text=text, external_id=resource["sid"]), resource

    def _armed_failure(self, recipient: str | None) -> Answer | None:
        failure = self._context.failures.take(CHANNEL, recipient)
        return Answer(failure.status, failure.body) if failure else None

    async def _report(self, url: str, resource: dict[str, Any], inbox: dict[str, Any]) -> None:
        """Post "sent" then "delivered" to the message's StatusCallback, signed with the account's auth token."""
        for status in ("sent", "delivered"):
            await asyncio.sleep(CALLBACK_DELAY_SECONDS)
            try:
                answer = await self._post_form(url, _status_form(resource, status), auth_token(inbox))
            except httpx.HTTPError as error:
                log.warning("status callback %s to %s failed: %s", status, url, error)
                return
            if answer.status_code != 200:
                log.warning("status callback %s to %s answered %s: %s", status, url, answer.status_code, answer.text)

    async def _post_form(self, url: str, pairs: list[tuple[str, str]], token: str) -> httpx.Response:
        headers = {"Content-Type": FORM_TYPE, "User-Agent": "TwilioProxy/1.1",
                   "I-Twilio-Idempotency-Token": secrets.token_hex(16),
                   "X-Twilio-Signature": signature(url, pairs, token)}
        return await self._context.webhooks.post_to(url, urllib.parse.urlencode(pairs).encode("utf-8"), headers)

    # ------------------------------------------------------------------ customer side

    async def _customer_sends(self, request: Request) -> JSONResponse:
        """{"from": phone, "name", "text"} as an incoming-message webhook, signed over the public webhook URL."""
        found = await customer_request(self._context, request, CHANNEL, "Twilio inbox", "from", "text")
        if isinstance(found, JSONResponse):
            return found
        inbox, data = found
        pairs = _incoming_form(inbox, data)
        response = await self._post_form(self._context.webhooks.public_url(CHANNEL, inbox["id"]), pairs,
                                         auth_token(inbox))
        return customer_result(response, dict(pairs), id=dict(pairs)["MessageSid"])


def _incoming_form(inbox: dict[str, Any], data: dict[str, Any]) -> list[tuple[str, str]]:
    """An incoming SMS (or, when the inbox's number is ``whatsapp:…``, a WhatsApp message) as Twilio posts it."""
    sid = message_sid()
    to = extra(inbox, "from")
    whatsapp = to.startswith("whatsapp:") or str(data["from"]).startswith("whatsapp:")
    sender = "+" + address(data["from"])
    pairs = [("ToCountry", "US"), ("SmsMessageSid", sid), ("NumMedia", "0"), ("SmsSid", sid),
             ("SmsStatus", "received"), ("Body", str(data["text"])), ("To", to), ("NumSegments", "1"),
             ("MessageSid", sid), ("AccountSid", extra(inbox, "account_sid")),
             ("From", f"whatsapp:{sender}" if whatsapp else sender), ("ApiVersion", API_VERSION)]
    if whatsapp:
        pairs += [("ProfileName", str(data.get("name") or "")), ("WaId", address(sender)), ("MessageType", "text"),
                  ("ReferralNumMedia", "0")]
    if extra(inbox, "messaging_service_sid"):
        pairs.append(("MessagingServiceSid", extra(inbox, "messaging_service_sid")))
    return pairs
