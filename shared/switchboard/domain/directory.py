"""Directory records: tenants, operators, teams and inboxes. Small, read often, cached per warm Lambda."""

from __future__ import annotations

from dataclasses import dataclass, field

from .conversation import OperatorView

ROLES = ("owner", "admin", "supervisor", "operator")


@dataclass
class Tenant:
    id: str
    name: str
    time_zone: str = "UTC"


@dataclass
class Operator:
    tenant_id: str
    id: str
    email: str
    name: str
    role: str = "operator"
    team_ids: list[str] = field(default_factory=list)
    inbox_ids: list[str] = field(default_factory=list)
    permissions: list[str] = field(default_factory=list)

    def view(self) -> OperatorView:
        """What the access rules need of this operator (the API, the feeds and notifications apply the same)."""
        return OperatorView(tenant_id=self.tenant_id, operator_id=self.id, role=self.role,
                            team_ids=frozenset(self.team_ids), inbox_ids=frozenset(self.inbox_ids), name=self.name,
                            permissions=frozenset(self.permissions))


@dataclass
class Team:
    tenant_id: str
    id: str
    name: str
    auto_assign: bool = False  # round robin hands out the team's unassigned conversations (domain/routing.py)
    assignment_cap: int | None = None  # open conversations per operator round robin fills up to; None: no cap


@dataclass
class Inbox:
    tenant_id: str
    id: str
    channel: str
    name: str
    default_team_id: str | None = None
    settings: dict = field(default_factory=dict)  # per-channel, non-secret (e.g. bot username)
    secrets_ref: str | None = None  # where the webhook secret and tokens live (SSM parameter name)
