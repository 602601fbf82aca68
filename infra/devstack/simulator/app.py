"""The messenger simulator, mounted at /sim: fake platform APIs (Telegram, Meta's Graph API for WhatsApp, Messenger and
Instagram, VK, Twilio) that record what the service sends, a control API to write as a customer through real, signed
webhooks (e-mail: mail in S3 and a signed SNS notification) and to make the next send fail, the e-mails moto's SES
kept, and a page."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from infra.devstack.moto_internals import sent_emails
from infra.devstack.simulator.core import Context, Failure, Failures, Inboxes, Outbox, Webhooks, json_body
from infra.devstack.simulator.email import Email, mail_summary
from infra.devstack.simulator.messenger import SendApi
from infra.devstack.simulator.meta import GraphApi
from infra.devstack.simulator.telegram import Telegram
from infra.devstack.simulator.twilio import Twilio
from infra.devstack.simulator.vk import Vk
from infra.devstack.simulator.whatsapp import WhatsApp

STATIC_DIR = Path(__file__).parent / "static"


class Platform(Protocol):
    """One simulated platform: its routes and the refusal fail-next arms for each of its channels."""

    channels: tuple[str, ...]

    def routes(self) -> list[Route]: ...

    def failure(self, channel: str, spec: dict[str, Any]) -> Failure: ...


class Simulator:
    """The simulated platforms, sharing the demo inboxes, one outbox and the armed failures."""

    def __init__(self, gateway_url: str, public_webhook_base: str | None = None, *,
                 inbound_mail_bucket: str | None = None, inbound_mail_topic: str | None = None) -> None:
        self._context = Context(Inboxes(), Outbox(), Failures(), Webhooks(gateway_url, public_webhook_base))
        # Not a Platform: SES is moto's, so there is no fake API here and nothing for fail-next to arm.
        self.email = Email(self._context, inbound_mail_bucket, inbound_mail_topic, sent=sent_emails)
        whatsapp, send_api = WhatsApp(self._context), SendApi(self._context)
        platforms: list[Platform] = [Telegram(self._context), whatsapp, send_api, Vk(self._context),
                                     Twilio(self._context)]
        self._platforms = {channel: platform for platform in platforms for channel in platform.channels}
        routes: list[BaseRoute] = [route for platform in platforms for route in platform.routes()]
        self.app = Starlette(routes=[
            *routes,
            *GraphApi(self._context, whatsapp, send_api).routes(),
            *self.email.routes(),
            Route("/api/{channel}/fail-next", self._fail_next, methods=["POST", "DELETE"]),
            Route("/api/outbox", self._outbox),
            Route("/api/inboxes", self._list_inboxes),
            Route("/api/mail", self._mail),
            Mount("/", app=StaticFiles(directory=STATIC_DIR, html=True)),
        ])

    def set_inboxes(self, inboxes: list[dict[str, Any]]) -> None:
        """The demo inboxes ({id, channel, name, webhook_secret, token, extra}), whose credentials are valid."""
        self._context.inboxes.replace(inboxes)

    def add_inbox(self, inbox: dict[str, Any]) -> None:
        """Another inbox whose credentials the fake APIs accept (tests provision their own)."""
        self._context.inboxes.add(inbox)

    def calls(self, after: int = 0) -> list[dict[str, Any]]:
        """Every call the fake APIs received after sequence number ``after``."""
        return self._context.outbox.calls(after)

    # ------------------------------------------------------------------ control API

    async def _fail_next(self, request: Request) -> JSONResponse:
        """POST arms the channel's next send (to "recipient", if given) to fail; DELETE disarms the channel."""
        channel = request.path_params["channel"]
        platform = self._platforms.get(channel)
        if platform is None:
            return JSONResponse({"detail": f"the simulator does not fake {channel}"}, status_code=404)
        if request.method == "DELETE":
            self._context.failures.disarm(channel)
            return JSONResponse({"armed": []})
        failure = platform.failure(channel, await json_body(request))
        self._context.failures.arm(channel, failure)
        return JSONResponse({"armed": self._context.failures.armed().get(channel, [])})

    async def _outbox(self, request: Request) -> JSONResponse:
        return JSONResponse({"calls": self.calls(int(request.query_params.get("after", 0))),
                             "armed": self._context.failures.armed()})

    async def _list_inboxes(self, request: Request) -> JSONResponse:
        # Local only, so the secrets may be shown: they are what a developer needs to post webhooks by hand.
        return JSONResponse({"inboxes": self._context.inboxes.all()})

    async def _mail(self, request: Request) -> JSONResponse:
        """What moto's SES sent, each with its recipients ("to"), subject, text and threading headers; ``?to=``
        keeps the mail to one address."""
        to = request.query_params.get("to", "").strip().lower()
        messages = [mail_summary(message) for message in sent_emails()]
        return JSONResponse({"messages": [message for message in messages if not to or to in message["to"]]})
