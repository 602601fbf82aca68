"""WebSocket connections of operators and widget visitors, found by tenant for fan-out."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from ..domain import clock
from ..domain.conversation import OperatorView
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
    connected_at: str = ""

    def viewer(self) -> OperatorView:
        """The operator behind this socket, as the access rules see them (as of when it connected)."""
        return OperatorView(tenant_id=self.tenant_id, operator_id=self.operator_id or "", role=self.role or "operator",
                            team_ids=self.team_ids, inbox_ids=self.inbox_ids)


# API Gateway refuses posts (410) to a socket whose $connect has not finished yet; such a socket is new, not gone.
CONNECT_GRACE = timedelta(seconds=10)


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
            inbox_ids=frozenset(item.inbox_ids or ()), connected_at=item.connected_at or "",
        )

    def remove(self, connection_id: str) -> None:
        ConnectionItem(connection_id).delete()

    def forget_gone(self, connection: Connection) -> None:
        """A post answered 410: forget the socket, unless it connected a moment ago (its $connect may still be
        running); a socket that really is gone then expires by TTL or is forgotten on a later post."""
        try:
            recent = clock.parse_iso(connection.connected_at) > clock.now() - CONNECT_GRACE
        except ValueError:
            recent = False
        if not recent:
            self.remove(connection.connection_id)

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
                inbox_ids=frozenset(item.inbox_ids or ()), connected_at=item.connected_at or "",
            )
            for item in query
            if item.expires_at > now
        ]
