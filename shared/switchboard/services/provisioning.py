"""Creating workspaces: tenant, operators (Cognito users + directory), teams and inboxes with fresh secrets."""

from __future__ import annotations

from typing import Any

from ..channels.base import Credentials
from ..domain.directory import Inbox, Operator, Team, Tenant
from ..domain.ids import secret_token, ulid
from ..secrets import SecretStore
from ..store.directory import DirectoryStore


class ProvisioningService:
    def __init__(self, directory: DirectoryStore, secrets: SecretStore, cognito: Any, user_pool_id: str) -> None:
        self._directory = directory
        self._secrets = secrets
        self._cognito = cognito
        self._pool = user_pool_id

    def create_tenant(self, name: str, time_zone: str = "UTC") -> Tenant:
        tenant = Tenant(id=ulid(), name=name, time_zone=time_zone)
        self._directory.put_tenant(tenant)
        return tenant

    def create_team(self, tenant: Tenant, name: str) -> Team:
        team = Team(tenant_id=tenant.id, id=ulid(), name=name)
        self._directory.put_team(team)
        return team

    def create_inbox(self, tenant: Tenant, channel: str, name: str, *, default_team: Team | None = None,
                     token: str | None = None, webhook_secret: str | None = None) -> tuple[Inbox, Credentials]:
        """A new inbox with a fresh webhook secret (or the one a platform is already configured with)."""
        inbox_id = ulid()
        credentials = Credentials(webhook_secret=webhook_secret or secret_token(), token=token)
        ref = self._secrets.put(tenant.id, inbox_id, credentials)
        inbox = Inbox(tenant_id=tenant.id, id=inbox_id, channel=channel, name=name,
                      default_team_id=default_team.id if default_team else None, secrets_ref=ref)
        self._directory.put_inbox(inbox)
        return inbox, credentials

    def create_operator(self, tenant: Tenant, *, email: str, name: str, password: str, role: str = "operator",
                        teams: list[Team] = (), inboxes: list[Inbox] = ()) -> Operator:  # type: ignore[assignment]
        operator = Operator(tenant_id=tenant.id, id=ulid(), email=email, name=name, role=role,
                            team_ids=[t.id for t in teams], inbox_ids=[i.id for i in inboxes])
        self._cognito.admin_create_user(
            UserPoolId=self._pool, Username=email, MessageAction="SUPPRESS",
            UserAttributes=[
                {"Name": "email", "Value": email},
                {"Name": "email_verified", "Value": "true"},
                {"Name": "name", "Value": name},
                {"Name": "custom:tenant_id", "Value": tenant.id},
                {"Name": "custom:operator_id", "Value": operator.id},
            ],
        )
        self._cognito.admin_set_user_password(UserPoolId=self._pool, Username=email, Password=password, Permanent=True)
        self._directory.put_operator(operator)
        return operator


DEMO_PASSWORD = "Switchboard-demo-1"


def seed_demo(provisioning: ProvisioningService | None = None) -> dict[str, Any]:
    """The demo workspace of the local stack: an owner, two operators, two teams, a Telegram and a widget inbox."""
    if provisioning is None:
        from ..wiring import services

        provisioning = services().provisioning
    tenant = provisioning.create_tenant("Acme Store", time_zone="Europe/Berlin")
    support = provisioning.create_team(tenant, "Support")
    billing = provisioning.create_team(tenant, "Billing")
    telegram, telegram_credentials = provisioning.create_inbox(
        tenant, "telegram", "Acme Telegram bot", default_team=support, token="7012345678:demo-bot-token")
    widget, widget_credentials = provisioning.create_inbox(tenant, "widget", "acme.example chat", default_team=support)
    people = [
        ("owner@acme.example", "Olivia Owner", "owner", [support, billing]),
        ("anna@acme.example", "Anna Support", "operator", [support]),
        ("boris@acme.example", "Boris Billing", "operator", [billing]),
    ]
    operators = []
    for email, name, role, teams in people:
        operator = provisioning.create_operator(tenant, email=email, name=name, password=DEMO_PASSWORD, role=role,
                                                teams=teams)
        operators.append({"id": operator.id, "email": email, "password": DEMO_PASSWORD, "name": name, "role": role,
                          "team_ids": operator.team_ids})
    return {
        "tenant": {"id": tenant.id, "name": tenant.name},
        "teams": [{"id": t.id, "name": t.name} for t in (support, billing)],
        "operators": operators,
        "inboxes": [
            {"id": telegram.id, "channel": "telegram", "name": telegram.name,
             "webhook_secret": telegram_credentials.webhook_secret, "bot_token": telegram_credentials.token},
            {"id": widget.id, "channel": "widget", "name": widget.name,
             "webhook_secret": widget_credentials.webhook_secret},
        ],
    }
