"""WebSocket sessions: operators connect with their token, widget visitors with their visitor token."""

from __future__ import annotations

import json
from collections.abc import Callable

from ..channels.widget import check_visitor
from ..domain import clock
from ..domain.errors import ContactBlocked, NotFound, Unauthorized
from ..secrets import SecretStore
from ..store.changes import ChangeFeed
from ..store.connections import ConnectionStore
from ..store.contacts import ContactStore
from ..store.conversations import ConversationStore
from ..store.directory import DirectoryStore
from .auth import AuthService

CATCH_UP_LIMIT = 500
PRESENCE = ("typing", "viewing")


class RealtimeService:
    def __init__(self, auth: AuthService, connections: ConnectionStore, directory: DirectoryStore,
                 secrets: SecretStore, feed: ChangeFeed, post: Callable[[str, bytes], bool],
                 conversations: ConversationStore, contacts: ContactStore | None = None,
                 on_online: Callable[[str, str], None] = lambda tenant_id, operator_id: None) -> None:
        self._auth = auth
        self._connections = connections
        self._directory = directory
        self._secrets = secrets
        self._feed = feed
        self._post = post
        self._conversations = conversations
        self._contacts = contacts
        self._on_online = on_online  # hands out the backlog of the operator's teams (DistributionService)

    def connect(self, connection_id: str, query: dict[str, str]) -> None:
        at = clock.iso(clock.now())
        if "token" in query:
            viewer = self._auth.operator(query["token"])
            self._connections.add_operator(
                connection_id, tenant_id=viewer.tenant_id, operator_id=viewer.operator_id, role=viewer.role,
                team_ids=sorted(viewer.team_ids), inbox_ids=sorted(viewer.inbox_ids), at=at,
            )
            self._on_online(viewer.tenant_id, viewer.operator_id)
            return
        if "inbox_id" in query:
            inbox = self._directory.inbox(query["inbox_id"])
            if inbox.channel != "widget":
                raise Unauthorized("Only widget inboxes accept visitor sockets.")
            visitor_id = check_visitor(self._secrets.credentials(inbox), query.get("visitor_id"),
                                       query.get("visitor_token"))
            self._refuse_blocked(inbox.tenant_id, inbox.id, visitor_id)
            self._connections.add_visitor(connection_id, tenant_id=inbox.tenant_id, inbox_id=inbox.id,
                                          visitor_id=visitor_id, at=at)
            return
        raise Unauthorized("Connect with ?token=<id token> (operators) or a widget visitor session.")

    def _refuse_blocked(self, tenant_id: str, inbox_id: str, visitor_id: str) -> None:
        """A blocked visitor gets no socket: the widget reads the refusal's code and hides itself."""
        identity = self._contacts.identity(tenant_id, inbox_id, visitor_id) if self._contacts else None
        if identity is not None and identity.blocked:
            raise ContactBlocked("This chat is not available.")

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
        if isinstance(data, dict) and data.get("action") == "catch_up":
            return self._catch_up(connection_id, data.get("since"))
        if isinstance(data, dict) and data.get("action") in PRESENCE:
            return self._presence(connection_id, data)
        return {"type": "error", "detail": "Unknown action."}

    def _presence(self, connection_id: str, data: dict) -> dict | None:
        """``typing`` or ``viewing`` in a conversation, shown live to the colleagues who may see it, so two people
        do not answer at once. Nothing is stored: presence is only worth anything now."""
        connection = self._connections.get(connection_id)
        conversation_id = data.get("conversation_id")
        if connection is None or connection.operator_id is None or not isinstance(conversation_id, str):
            return {"type": "error", "detail": "typing/viewing need an operator's socket and a conversation_id."}
        viewer = connection.viewer()
        try:
            conversation = self._conversations.get(viewer.tenant_id, conversation_id)
        except NotFound:
            return {"type": "error", "detail": "No such conversation."}
        if not conversation.visible_to(viewer):
            return {"type": "error", "detail": "No such conversation."}
        frame = json.dumps({"type": "typing" if data["action"] == "typing" else "presence",
                            "conversation_id": conversation_id, "operator_id": viewer.operator_id,
                            "operator_name": self._directory.names(viewer.tenant_id).get(viewer.operator_id),
                            "state": data["action"], "at": clock.iso(clock.now())}).encode()
        for other in self._connections.operators_of(viewer.tenant_id):
            if other.operator_id != viewer.operator_id and conversation.visible_to(other.viewer()):
                self._post(other.connection_id, frame)
        return None

    def _catch_up(self, connection_id: str, since: object) -> dict | None:
        """Every event after ``since`` this operator may see, posted in order on this socket, then a summary:
        ``complete`` false means more was missed than the feed keeps or returns, and the client should reload."""
        connection = self._connections.get(connection_id)
        if connection is None or connection.operator_id is None:
            return {"type": "error", "detail": "Only an operator's socket can catch up."}
        if not isinstance(since, str) or "#" not in since:
            return {"type": "error", "detail": "catch_up needs the seq of the last event received."}
        viewer = connection.viewer()
        try:
            events, complete = self._feed.since(viewer, since, CATCH_UP_LIMIT)
        except ValueError:
            return {"type": "error", "detail": "catch_up needs the seq of the last event received."}
        for event in events:
            self._post(connection_id, json.dumps(event).encode())
        return {"type": "caught_up", "count": len(events), "complete": complete}

