"""WebSocket sessions: operators connect with their token, widget visitors with their visitor token."""

from __future__ import annotations

import json

from ..channels.widget import check_visitor
from ..domain import clock
from ..domain.errors import Unauthorized
from ..secrets import SecretStore
from ..store.connections import ConnectionStore
from ..store.directory import DirectoryStore
from .auth import AuthService


class RealtimeService:
    def __init__(self, auth: AuthService, connections: ConnectionStore, directory: DirectoryStore,
                 secrets: SecretStore) -> None:
        self._auth = auth
        self._connections = connections
        self._directory = directory
        self._secrets = secrets

    def connect(self, connection_id: str, query: dict[str, str]) -> None:
        at = clock.iso(clock.now())
        if "token" in query:
            viewer = self._auth.operator(query["token"])
            self._connections.add_operator(
                connection_id, tenant_id=viewer.tenant_id, operator_id=viewer.operator_id, role=viewer.role,
                team_ids=sorted(viewer.team_ids), inbox_ids=sorted(viewer.inbox_ids), at=at,
            )
            return
        if "inbox_id" in query:
            inbox = self._directory.inbox(query["inbox_id"])
            if inbox.channel != "widget":
                raise Unauthorized("Only widget inboxes accept visitor sockets.")
            visitor_id = check_visitor(self._secrets.credentials(inbox), query.get("visitor_id"),
                                       query.get("visitor_token"))
            self._connections.add_visitor(connection_id, tenant_id=inbox.tenant_id, inbox_id=inbox.id,
                                          visitor_id=visitor_id, at=at)
            return
        raise Unauthorized("Connect with ?token=<id token> (operators) or a widget visitor session.")

    def disconnect(self, connection_id: str) -> None:
        self._connections.remove(connection_id)

    def message(self, connection_id: str, body: str | None) -> dict | None:
        """Frames from clients. Only ``ping`` for now; it keeps the socket inside API Gateway's idle limit."""
        try:
            data = json.loads(body or "{}")
        except ValueError:
            return {"type": "error", "detail": "Frames must be JSON objects."}
        if isinstance(data, dict) and data.get("action") == "ping":
            return {"type": "pong", "at": clock.iso(clock.now())}
        return {"type": "error", "detail": "Unknown action."}
