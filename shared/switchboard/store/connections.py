"""WebSocket connections of operators and widget visitors, found by tenant for fan-out."""

from __future__ import annotations

import time
from dataclasses import dataclass

from .models import ConnectionItem

CONNECTION_TTL_SECONDS = 3 * 3600  # API Gateway closes sockets after 2 hours; the TTL sweeps what $disconnect missed


@dataclass(frozen=True)
class Connection:
    connection_id: str
    tenant_id: str
    principal: str
    operator_id: str | None = None
    role: str | None = None
    team_ids: frozenset[str] = frozenset()
    inbox_ids: frozenset[str] = frozenset()


class ConnectionStore:
    def add_operator(self, connection_id: str, *, tenant_id: str, operator_id: str, role: str,
                     team_ids: list[str], inbox_ids: list[str], at: str) -> None:
        ConnectionItem(
            connection_id, tenant_id=tenant_id, principal=f"op#{operator_id}#{connection_id}",
            operator_id=operator_id, role=role, team_ids=team_ids or None, inbox_ids=inbox_ids or None,
            connected_at=at, expires_at=int(time.time()) + CONNECTION_TTL_SECONDS,
        ).save()

    def add_visitor(self, connection_id: str, *, tenant_id: str, inbox_id: str, visitor_id: str, at: str) -> None:
        ConnectionItem(
            connection_id, tenant_id=tenant_id, principal=f"visitor#{inbox_id}#{visitor_id}#{connection_id}",
            connected_at=at, expires_at=int(time.time()) + CONNECTION_TTL_SECONDS,
        ).save()

    def get(self, connection_id: str) -> Connection | None:
        try:
            item = ConnectionItem.get(connection_id)
        except ConnectionItem.DoesNotExist:
            return None
        return Connection(
            connection_id=item.connection_id, tenant_id=item.tenant_id, principal=item.principal,
            operator_id=item.operator_id, role=item.role, team_ids=frozenset(item.team_ids or ()),
            inbox_ids=frozenset(item.inbox_ids or ()),
        )

    def remove(self, connection_id: str) -> None:
        ConnectionItem(connection_id).delete()

    def operators_of(self, tenant_id: str) -> list[Connection]:
        return self._query(tenant_id, "op#")

    def of_operator(self, tenant_id: str, operator_id: str) -> list[Connection]:
        """The sockets (one per tab) of one operator."""
        return self._query(tenant_id, f"op#{operator_id}#")

    def visitor(self, tenant_id: str, inbox_id: str, visitor_id: str) -> list[Connection]:
        return self._query(tenant_id, f"visitor#{inbox_id}#{visitor_id}#")

    def _query(self, tenant_id: str, prefix: str) -> list[Connection]:
        now = int(time.time())
        query = ConnectionItem.by_tenant.query(tenant_id, ConnectionItem.principal.startswith(prefix))
        return [
            Connection(
                connection_id=item.connection_id, tenant_id=item.tenant_id, principal=item.principal,
                operator_id=item.operator_id, role=item.role, team_ids=frozenset(item.team_ids or ()),
                inbox_ids=frozenset(item.inbox_ids or ()),
            )
            for item in query
            if item.expires_at > now
        ]
