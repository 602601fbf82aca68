"""The whole local stack in one object: embedded AWS, the stack provisioned from template.yaml, the gateway, the pumps
and the simulator. `python -m infra.devstack` and the integration tests start it the same way."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from infra.devstack.authorizer import CognitoAuthorizer
from infra.devstack.embedded_aws import EmbeddedAws
from infra.devstack.gateway import WEBSOCKET_PATH, BackgroundServer, Gateway
from infra.devstack.lambdas import LambdaFunction, put_layer_on_path
from infra.devstack.provision import Provisioned, known_values, provision
from infra.devstack.pumps import Pumps
from infra.devstack.simulator import Simulator
from infra.devstack.template import (
    REPO_ROOT,
    cognito_authorizers,
    functions,
    http_routes,
    load_template,
    rest_cors_headers,
    substitute,
    unauthorized_response,
    websocket_apis,
)

log = logging.getLogger(__name__)

STATE_FILE = REPO_ROOT / ".devstack" / "stack.json"
WEB_DIR = REPO_ROOT / "web"
# Inbox channels the chat widget can serve.
_WIDGET_CHANNELS = ("widget", "web", "webchat")


class LocalStack:
    """Start with `start()`, stop with `stop()`; in between `outputs`, `env`, `urls` and `demo` describe it."""

    def __init__(self) -> None:
        self.outputs: dict[str, str] = {}
        self.env: dict[str, str] = {}
        self.urls: dict[str, str] = {}
        self.demo: dict[str, Any] = {}
        self.functions: dict[str, LambdaFunction] = {}
        self.startup_seconds = 0.0
        self.pumps = Pumps()
        self.simulator: Simulator | None = None
        self._aws = EmbeddedAws()
        self._server: BackgroundServer | None = None
        self._state_file: Path | None = None

    def start(self, gateway_port: int = 0, seed: bool = True, state_file: Path | None = STATE_FILE) -> LocalStack:
        """Start everything; `state_file` (urls, demo credentials, physical names) is written unless None."""
        try:
            return self._start(gateway_port, seed, state_file)
        except BaseException:
            self.stop()  # a half-started stack must not leave moto or the gateway running
            raise

    def _start(self, gateway_port: int, seed: bool, state_file: Path | None) -> LocalStack:
        started = time.monotonic()
        # Bound first: the port goes into the functions' settings before anything runs.
        self._server = BackgroundServer(BackgroundServer.bind(gateway_port))
        gateway = f"http://127.0.0.1:{self._server.port}"
        self.env = self._aws.start()
        template = load_template()
        parameters = simulated_platforms(gateway)
        provisioned = provision(parameters)
        self.outputs = provisioned.outputs
        self.env |= self._function_env(template, provisioned, gateway)
        os.environ.update(self.env)
        put_layer_on_path()
        self.functions = {logical_id: LambdaFunction(spec, provisioned.physical_ids[logical_id])
                          for logical_id, spec in functions(template).items()}
        self.demo = _seed_demo() if seed else {}
        _connect_demo_email(self.demo, self.outputs)
        _verify_notification_sender(self.env)
        simulator = Simulator(gateway, inbound_mail_bucket=self.outputs.get("InboundMailBucketName"),
                              inbound_mail_topic=self.outputs.get("InboundMailTopicArn"))
        simulator.set_inboxes(self.demo.get("inboxes", []))
        self.simulator = simulator
        self._server.start(self._gateway(template, provisioned, parameters, simulator).app)
        self._add_pumps(provisioned)
        self.pumps.start()
        self.urls = self._urls(gateway)
        if state_file is not None:
            self._write_state_file(state_file)
            self._state_file = state_file
        self.startup_seconds = time.monotonic() - started
        log.info("local stack up in %.1f s at %s", self.startup_seconds, gateway)
        return self

    def stop(self) -> None:
        self.pumps.stop()
        if self._server is not None:
            self._server.stop()
            self._server = None
        self._aws.stop()
        if self._state_file is not None:
            self._state_file.unlink(missing_ok=True)  # it would point at ports nobody listens on any more
            self._state_file = None

    def wait_idle(self, timeout: float = 10) -> bool:
        """True once the pumps have drained every stream and queue (see `Pumps.wait_idle`)."""
        return self.pumps.wait_idle(timeout)

    def _function_env(self, template: dict[str, Any], provisioned: Provisioned, gateway: str) -> dict[str, str]:
        """The functions' environment as CloudFormation resolved it, with the addresses that differ locally."""
        env = dict(provisioned.function_env)
        moto = self.env["AWS_ENDPOINT_URL"]
        overrides = {
            # moto serves the pool's keys itself; the tokens' issuer still names the AWS host.
            "JWKS_URL": f"{moto}/{env.get('USER_POOL_ID', '')}/.well-known/jwks.json",
            **{_SETTING_OF_PARAMETER[name]: value for name, value in simulated_platforms(gateway).items()},
            "AWS_ENDPOINT_URL": moto,
        }
        sockets = websocket_apis(template)
        if sockets:
            # The gateway serves @connections at /{stage}/@connections, as execute-api does.
            overrides["WEBSOCKET_ENDPOINT"] = f"{gateway}/{sockets[0].stage}"
        return env | overrides

    def _gateway(self, template: dict[str, Any], provisioned: Provisioned, parameters: dict[str, str],
                 simulator: Simulator) -> Gateway:
        outside = provisioned.outside_cloudformation
        routes = http_routes(template)
        sockets = websocket_apis(template)
        known = known_values(template, parameters)
        return Gateway(
            routes=routes,
            websocket=sockets[0] if sockets else None,
            functions=self.functions,
            api_ids=provisioned.physical_ids | outside,
            authorizers={name: CognitoAuthorizer(substitute(arn, outside), self.env["AWS_ENDPOINT_URL"])
                         for name, arn in cognito_authorizers(template).items()},
            cors={route.api: rest_cors_headers(template, route.api, known) for route in routes},
            unauthorized={route.api: unauthorized_response(template, route.api, known) for route in routes},
            web_dir=WEB_DIR,
            simulator=simulator.app,
            config=self._client_config,
        )

    def _add_pumps(self, provisioned: Provisioned) -> None:
        for mapping in provisioned.event_sources:
            function = self.functions[mapping.function]
            if not function.source.is_file():
                # Functions are being written: pumping into a missing module would only fill the failure queue.
                log.warning("%s: %s does not exist yet, so %s is not pumped (restart once it does)",
                            mapping.function, function.source.relative_to(REPO_ROOT), mapping.logical_id)
                continue
            self.pumps.add(mapping, function.invoke, function.arn)

    def _urls(self, gateway: str) -> dict[str, str]:
        return {
            "gateway": gateway,
            "api": gateway,
            "ws": f"{gateway.replace('http://', 'ws://')}{WEBSOCKET_PATH}",
            "webhooks": f"{gateway}/webhooks",
            "client": f"{gateway}/",
            "widget": f"{gateway}/widget/",
            "simulator": f"{gateway}/sim/",
            "moto": self.env["AWS_ENDPOINT_URL"],
        }

    def _client_config(self) -> dict[str, Any]:
        """/config.json: where the web client and the widget find the API."""
        widget_inbox = next((inbox["id"] for inbox in self.demo.get("inboxes", [])
                             if inbox.get("channel") in _WIDGET_CHANNELS), None)
        return {"apiBase": self.urls["api"], "wsUrl": self.urls["ws"], "widgetInboxId": widget_inbox}

    def _write_state_file(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {"urls": self.urls, "moto_endpoint": self.urls["moto"], "outputs": self.outputs,
                 "demo": self.demo, "env": self.env}
        path.write_text(json.dumps(state, indent=2, default=str))


_SETTING_OF_PARAMETER = {
    "TelegramApiBase": "TELEGRAM_API_BASE",
    "GraphApiBase": "GRAPH_API_BASE",
    "VkApiBase": "VK_API_BASE",
    "TwilioApiBase": "TWILIO_API_BASE",
    "PublicWebhookBase": "PUBLIC_WEBHOOK_BASE",
}


def simulated_platforms(gateway: str) -> dict[str, str]:
    """Template parameters that point every platform API at the simulator, and webhooks at this gateway."""
    return {
        "TelegramApiBase": f"{gateway}/sim/telegram",
        "GraphApiBase": f"{gateway}/sim/graph",
        "VkApiBase": f"{gateway}/sim/vk",
        "TwilioApiBase": f"{gateway}/sim/twilio",
        "PublicWebhookBase": gateway,
    }


def _connect_demo_email(demo: dict[str, Any], outputs: dict[str, str]) -> None:
    """What connecting the demo e-mail inbox to SES takes: it trusts the stack's InboundMailTopic (topic_arn, added
    to its SSM credentials and to the demo data), and its sender address is verified in (moto's) SES."""
    topic_arn = outputs.get("InboundMailTopicArn")
    mailboxes = [inbox for inbox in demo.get("inboxes", []) if inbox.get("channel") == "email"]
    if not topic_arn or not mailboxes:
        return
    import boto3

    from switchboard.channels.base import Credentials
    from switchboard.wiring import services

    secrets = services().secrets
    for demo_inbox in mailboxes:
        inbox = services().directory.inbox(demo_inbox["id"])
        current = secrets.credentials(inbox)
        extra = {**current.extra, "topic_arn": topic_arn}
        secrets.put(inbox.tenant_id, inbox.id, Credentials(current.webhook_secret, current.token, extra))
        demo_inbox["extra"] = {**demo_inbox.get("extra", {}), "topic_arn": topic_arn}  # a copy: seed data is shared
        sender = extra.get("from_address")
        if sender:
            region = os.environ.get("SES_REGION") or None
            boto3.client("sesv2", region_name=region).create_email_identity(EmailIdentity=sender)


def _verify_notification_sender(env: dict[str, str]) -> None:
    """Operators' notification e-mails come from NOTIFICATION_SENDER. In AWS its address or domain is verified in SES
    once; moto's SES refuses unverified senders as SES does, so verify it here (the mail shows at /sim/mail.html)."""
    from email.utils import parseaddr

    import boto3

    sender = parseaddr(env.get("NOTIFICATION_SENDER", ""))[1]
    if sender:
        boto3.client("sesv2").create_email_identity(EmailIdentity=sender)


def _seed_demo() -> dict[str, Any]:
    # Imported late: it needs the functions' environment and the layer on sys.path.
    from switchboard.services.provisioning import seed_demo

    return seed_demo()
