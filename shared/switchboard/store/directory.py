"""Directory reads (tenants, operators, teams, inboxes), cached per warm Lambda: they change rarely."""

from __future__ import annotations

import time

from pynamodb.exceptions import DoesNotExist

from ..domain.directory import Inbox, Operator, Team, Tenant
from ..domain.errors import NotFound
from ..domain.routing import RoutingRule
from .models import DirectoryItem, InboxItem, OperatorItem, RoutingRulesItem, TeamItem, TenantItem

CACHE_SECONDS = 60.0


class DirectoryStore:
    def __init__(self, cache_seconds: float = CACHE_SECONDS) -> None:
        self._cache: dict[tuple, tuple[float, object]] = {}
        self._ttl = cache_seconds

    def _cached(self, key: tuple, load):  # type: ignore[no-untyped-def]
        hit = self._cache.get(key)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        value = load()
        self._cache[key] = (time.monotonic() + self._ttl, value)
        return value

    def inbox(self, inbox_id: str) -> Inbox:
        """The inbox a webhook names. Unknown ids are cached too, so a flood of bad ids costs one read each."""

        def load() -> Inbox | None:
            items = list(DirectoryItem.by_inbox.query(inbox_id, limit=1))
            return _inbox(items[0]) if items else None

        inbox = self._cached(("inbox", inbox_id), load)
        if inbox is None:
            raise NotFound("No such inbox.")
        return inbox

    def operator(self, tenant_id: str, operator_id: str) -> Operator:
        def load() -> Operator | None:
            try:
                return _operator(OperatorItem.get(tenant_id, f"operator#{operator_id}"))
            except DoesNotExist:  # each subclass has its own DoesNotExist; this is their common base
                return None

        operator = self._cached(("operator", tenant_id, operator_id), load)
        if operator is None:
            raise NotFound("No such operator.")
        return operator

    def tenant(self, tenant_id: str) -> Tenant:
        def load() -> Tenant | None:
            try:
                item = TenantItem.get(tenant_id, "tenant")
            except DoesNotExist:  # each subclass has its own DoesNotExist; this is their common base
                return None
            return Tenant(id=tenant_id, name=item.name or "", time_zone=item.time_zone)

        tenant = self._cached(("tenant", tenant_id), load)
        if tenant is None:
            raise NotFound("No such tenant.")
        return tenant

    def names(self, tenant_id: str) -> dict[str, str]:
        """Display names of the tenant's operators, teams and inboxes by id (one query, cached)."""

        def load() -> dict[str, str]:
            return {item.sk.split("#", 1)[1]: item.name or "" for item in DirectoryItem.query(tenant_id)
                    if item.sk.startswith(("operator#", "team#", "inbox#"))}

        return self._cached(("names", tenant_id), load)

    def operators(self, tenant_id: str) -> list[Operator]:
        """The tenant's operators (cached: the stream consumers ask for every change they notify or hand out)."""

        def load() -> list[Operator]:
            query = DirectoryItem.query(tenant_id, DirectoryItem.sk.startswith("operator#"))
            return [_operator(item) for item in query]

        return list(self._cached(("operators", tenant_id), load))

    def teams(self, tenant_id: str) -> list[Team]:
        query = DirectoryItem.query(tenant_id, DirectoryItem.sk.startswith("team#"))
        return [team_from_item(item) for item in query]

    def routing_rules(self, tenant_id: str) -> list[RoutingRule]:
        """The tenant's routing rules, in order. Cached: ingest reads them for every new conversation."""

        def load() -> list[RoutingRule]:
            try:
                item = RoutingRulesItem.get(tenant_id, "routing_rules")
            except DoesNotExist:
                return []
            return [RoutingRule.from_dict(rule) for rule in item.rules or []]

        return self._cached(("routing_rules", tenant_id), load)

    def put_routing_rules(self, tenant_id: str, rules: list[RoutingRule], updated_by: str) -> None:
        RoutingRulesItem(tenant_id, "routing_rules", rules=[rule.to_dict() for rule in rules],
                         updated_by=updated_by).save()
        self._cache.pop(("routing_rules", tenant_id), None)

    def inboxes(self, tenant_id: str) -> list[Inbox]:
        return [_inbox(item) for item in DirectoryItem.query(tenant_id, DirectoryItem.sk.startswith("inbox#"))]

    # ------------------------------------------------------------ writes (provisioning)
    def put_tenant(self, tenant: Tenant) -> None:
        TenantItem(tenant.id, "tenant", name=tenant.name, time_zone=tenant.time_zone).save()

    def put_operator(self, operator: Operator) -> None:
        OperatorItem(
            operator.tenant_id, f"operator#{operator.id}", name=operator.name, email=operator.email,
            role=operator.role, team_ids=list(operator.team_ids), inbox_ids=list(operator.inbox_ids),
            permissions=list(operator.permissions),
        ).save()
        self._cache.pop(("operator", operator.tenant_id, operator.id), None)
        self._cache.pop(("operators", operator.tenant_id), None)

    def put_team(self, team: Team) -> None:
        TeamItem(team.tenant_id, f"team#{team.id}", name=team.name, auto_assign=team.auto_assign,
                 assignment_cap=team.assignment_cap).save()

    def put_inbox(self, inbox: Inbox) -> None:
        InboxItem(
            inbox.tenant_id, f"inbox#{inbox.id}", inbox_id=inbox.id, channel=inbox.channel, name=inbox.name,
            default_team_id=inbox.default_team_id, settings=inbox.settings, secrets_ref=inbox.secrets_ref,
        ).save()
        self._cache.pop(("inbox", inbox.id), None)


def team_from_item(item: TeamItem) -> Team:
    cap = item.assignment_cap
    return Team(tenant_id=item.pk, id=item.sk.split("#", 1)[1], name=item.name or "",
                auto_assign=bool(item.auto_assign), assignment_cap=int(cap) if cap is not None else None)


def _operator(item: OperatorItem) -> Operator:
    return Operator(
        tenant_id=item.pk, id=item.sk.split("#", 1)[1], email=item.email, name=item.name or "", role=item.role,
        team_ids=list(item.team_ids or []), inbox_ids=list(item.inbox_ids or []),
        permissions=list(item.permissions or []),
    )


def _inbox(item: InboxItem) -> Inbox:
    return Inbox(
        tenant_id=item.pk, id=item.inbox_id, channel=item.channel, name=item.name or "",
        default_team_id=item.default_team_id, settings=item.settings or {}, secrets_ref=item.secrets_ref,
    )
