"""Per-inbox secrets (webhook secret, platform tokens) in SSM Parameter Store, cached by Powertools."""

from __future__ import annotations

import json

from .channels.base import Credentials
from .domain.directory import Inbox
from .domain.errors import NotFound

CACHE_SECONDS = 300


class SecretStore:
    def __init__(self, prefix: str, ssm_client: object | None = None) -> None:
        self._prefix = prefix.rstrip("/")
        self._client = ssm_client
        self._provider: object | None = None

    @property
    def client(self) -> object:
        if self._client is None:
            import boto3

            self._client = boto3.client("ssm")
        return self._client

    @property
    def provider(self):  # type: ignore[no-untyped-def]
        """Powertools' SSM provider (with its cache) on our own client, never the process-wide default one."""
        if self._provider is None:
            from aws_lambda_powertools.utilities.parameters import SSMProvider

            self._provider = SSMProvider(boto3_client=self.client)
        return self._provider

    def name_for(self, tenant_id: str, inbox_id: str) -> str:
        return f"{self._prefix}/{tenant_id}/inboxes/{inbox_id}"

    def credentials(self, inbox: Inbox) -> Credentials:
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        name = inbox.secrets_ref or self.name_for(inbox.tenant_id, inbox.id)
        try:
            raw = self.provider.get(name, decrypt=True, max_age=CACHE_SECONDS)
        except GetParameterError as exc:
            raise NotFound("The inbox has no credentials configured.") from exc
        data = json.loads(raw)
        return Credentials(webhook_secret=data["webhook_secret"], token=data.get("token"), extra=data.get("extra", {}))

    def put(self, tenant_id: str, inbox_id: str, credentials: Credentials) -> str:
        client = self.client
        name = self.name_for(tenant_id, inbox_id)
        value = {"webhook_secret": credentials.webhook_secret, "token": credentials.token, "extra": credentials.extra}
        client.put_parameter(Name=name, Value=json.dumps(value), Type="SecureString", Overwrite=True)  # type: ignore[attr-defined]
        if self._provider is not None:
            self._provider.clear_cache()  # type: ignore[attr-defined]  # this process must not keep the old value
        return name
