"""Creating workspaces: tenant, operators (Cognito users + directory), teams and inboxes with fresh secrets."""

from __future__ import annotations

from typing import Any

from ..channels.base import Credentials
from ..domain.conversation import EDIT_DIALOG_SETTINGS, PERMISSIONS
from ..domain.directory import ROLES, Inbox, Operator, Team, Tenant
from ..domain.errors import BadRequest
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
                     token: str | None = None, webhook_secret: str | None = None,
                     extra: dict | None = None) -> tuple[Inbox, Credentials]:
        """A new inbox with a fresh webhook secret (or the one a platform is already configured with).

        ``extra`` holds the channel's other settings and secrets (phone_number_id, verify_token, group_id, …).
        """
        inbox_id = ulid()
        credentials = Credentials(webhook_secret=webhook_secret or secret_token(), token=token, extra=extra or {})
        ref = self._secrets.put(tenant.id, inbox_id, credentials)
        inbox = Inbox(tenant_id=tenant.id, id=inbox_id, channel=channel, name=name,
                      default_team_id=default_team.id if default_team else None, secrets_ref=ref)
        self._directory.put_inbox(inbox)
        return inbox, credentials

    def create_operator(self, tenant: Tenant, *, email: str, name: str, password: str, role: str = "operator",
                        teams: list[Team] = (), inboxes: list[Inbox] = (),  # type: ignore[assignment]
                        permissions: list[str] = ()) -> Operator:  # type: ignore[assignment]
        if role not in ROLES:
            raise BadRequest(f"Unknown role '{role}'; use one of {', '.join(ROLES)}.")
        unknown = set(permissions) - set(PERMISSIONS)
        if unknown:
            raise BadRequest(f"Unknown permission '{sorted(unknown)[0]}'; use one of {', '.join(PERMISSIONS)}.")
        operator = Operator(tenant_id=tenant.id, id=ulid(), email=email, name=name, role=role,
                            team_ids=[t.id for t in teams], inbox_ids=[i.id for i in inboxes],
                            permissions=list(permissions))
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

# channel, name, token, extra settings: one inbox per channel, as the local simulator knows them
DEMO_INBOXES = [
    ("telegram", "Acme Telegram bot", "7012345678:demo-bot-token", {}),
    ("widget", "acme.example chat", None, {}),
    ("whatsapp", "Acme WhatsApp +1 555 0123", "demo-whatsapp-token",
     {"phone_number_id": "109283746501234", "verify_token": "demo-verify-token"}),
    ("messenger", "Acme Facebook page", "demo-page-token",
     {"page_id": "1029384756", "app_id": "5550001112223", "verify_token": "demo-verify-token"}),
    ("instagram", "@acme.store on Instagram", "demo-instagram-token",
     {"instagram_account_id": "17841400000000001", "app_id": "5550001112223", "verify_token": "demo-verify-token"}),
    ("vk", "Acme VK community", "demo-vk-token", {"group_id": "218765432", "confirmation_code": "a1b2c3d4"}),
    ("twilio", "Acme SMS +1 555 0199", None,
     {"account_sid": "AC00000000000000000000000000000001", "from": "+15550199000"}),
    ("email", "support@acme.example", None, {"from_address": "support@acme.example", "from_name": "Acme Support"}),
]


def seed_demo(provisioning: ProvisioningService | None = None) -> dict[str, Any]:
    """The demo workspace of the local stack: an owner, two operators, two teams and an inbox of every channel."""
    if provisioning is None:
        from ..wiring import services

        provisioning = services().provisioning
    tenant = provisioning.create_tenant("Acme Store", time_zone="Europe/Berlin")
    support = provisioning.create_team(tenant, "Support")
    billing = provisioning.create_team(tenant, "Billing")
    inboxes = [
        (provisioning.create_inbox(tenant, channel, name, default_team=support, token=token, extra=extra), extra)
        for channel, name, token, extra in DEMO_INBOXES
    ]
    people = [
        ("owner@acme.example", "Olivia Owner", "owner", [support, billing], []),
        ("anna@acme.example", "Anna Support", "operator", [support], [EDIT_DIALOG_SETTINGS]),
        ("boris@acme.example", "Boris Billing", "operator", [billing], []),
        ("sofia@acme.example", "Sofia Supervisor", "supervisor", [support, billing], []),
    ]
    operators = []
    for email, name, role, teams, permissions in people:
        operator = provisioning.create_operator(tenant, email=email, name=name, password=DEMO_PASSWORD, role=role,
                                                teams=teams, permissions=permissions)
        operators.append({"id": operator.id, "email": email, "password": DEMO_PASSWORD, "name": name, "role": role,
                          "team_ids": operator.team_ids})
    return {
        "tenant": {"id": tenant.id, "name": tenant.name},
        "teams": [{"id": t.id, "name": t.name} for t in (support, billing)],
        "operators": operators,
        "inboxes": [
            {"id": inbox.id, "channel": inbox.channel, "name": inbox.name, "webhook_secret": credentials.webhook_secret,
             "token": credentials.token, **({"bot_token": credentials.token} if inbox.channel == "telegram" else {}),
             "extra": extra}
            for (inbox, credentials), extra in inboxes
        ],
    }
