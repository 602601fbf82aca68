"""Settings, read once from the environment at cold start and validated: a missing variable fails loudly."""

from __future__ import annotations

import os
from dataclasses import MISSING, dataclass, fields


class MissingSetting(RuntimeError):
    pass


@dataclass(frozen=True)
class Settings:
    directory_table: str
    conversations_table: str
    messages_table: str
    contacts_table: str
    connections_table: str
    changes_table: str
    views_table: str  # list postings and counters (store/views.py)
    outbound_queue_url: str
    snooze_state_machine_arn: str
    sla_state_machine_arn: str  # SLA warning and breach timers (infra/statemachines/sla.asl.json)
    tasks_table: str
    task_deadline_state_machine_arn: str
    attachments_bucket: str
    user_pool_id: str
    user_pool_client_id: str
    websocket_endpoint: str
    telegram_api_base: str
    secrets_prefix: str
    notifications_table: str
    notification_sender: str  # the verified SES address operators' notification e-mails come from
    jwks_url: str = ""
    graph_api_base: str = "https://graph.facebook.com/v21.0"
    vk_api_base: str = "https://api.vk.com"
    twilio_api_base: str = "https://api.twilio.com"
    public_webhook_base: str = ""  # the public URL platforms call (Twilio signs it); empty: taken from the request
    max_webhook_bytes: int = 1_048_576
    region: str = "us-east-1"

    @classmethod
    def from_env(cls, env: os._Environ[str] | dict[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        missing = []
        for field in fields(cls):
            raw = env.get(field.name.upper())
            if field.name == "region":
                raw = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
            if raw is None or raw == "":
                if field.default is MISSING:
                    missing.append(field.name.upper())
                continue
            values[field.name] = int(raw) if field.type in ("int", int) else raw
        if missing:
            raise MissingSetting(f"Missing required environment variables: {', '.join(sorted(missing))}")
        return cls(**values)  # type: ignore[arg-type]

    def api_bases(self) -> dict[str, str]:
        """Where each channel's platform API lives (the simulator's addresses on the local stack)."""
        return {
            "telegram": self.telegram_api_base,
            "whatsapp": self.graph_api_base,
            "messenger": self.graph_api_base,
            "instagram": self.graph_api_base,
            "vk": self.vk_api_base,
            "twilio": self.twilio_api_base,
        }

    @property
    def effective_jwks_url(self) -> str:
        if self.jwks_url:
            return self.jwks_url
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}/.well-known/jwks.json"
