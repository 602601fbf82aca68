"""Reading conversations: one item by id, and list views answered by index queries merged into pages."""

from __future__ import annotations

from collections.abc import Iterator

from ..domain.conversation import Conversation, OperatorView
from ..domain.errors import BadRequest, NotFound
from .mapping import conversation_from_item
from .models import UNASSIGNED, ConversationItem
from .pages import Source, decode_cursor, encode_cursor, merge_pages

_INDEX_KEYS = {
    "by_status": ("tenant_status", "activity_key"),
    "by_assignee": ("tenant_assignee", "status_key"),
    "by_team": ("tenant_team", "status_key"),
    "by_inbox": ("tenant_inbox", "status_key"),
    "by_contact": ("tenant_contact", "activity_key"),
}


class ConversationStore:
    def get(self, tenant_id: str, conversation_id: str) -> Conversation:
        try:
            return conversation_from_item(ConversationItem.get(tenant_id, conversation_id, consistent_read=True))
        except ConversationItem.DoesNotExist:
            raise NotFound("No such conversation.") from None

    def list(
        self, viewer: OperatorView, *, status: str | None, assignee: str | None, limit: int, cursor: str | None,
    ) -> tuple[list[Conversation], str | None]:
        """A page of the conversations ``viewer`` may see, newest activity first.

        ``assignee``: None (all), "me", "unassigned", "mine_or_unassigned" or an operator id.
        """
        sources = self._sources(viewer, status, assignee)
        items, state = merge_pages(
            sources,
            limit=limit,
            cursor=decode_cursor(cursor),
            sort_key=lambda item: item.activity_key,
            item_id=lambda item: item.conversation_id,
            keep=lambda item: conversation_from_item(item).visible_to(viewer),
        )
        return [conversation_from_item(item) for item in items], encode_cursor(state)

    def of_contact(self, tenant_id: str, contact_id: str, limit: int = 50) -> list[Conversation]:
        query = ConversationItem.by_contact.query(
            f"{tenant_id}#{contact_id}", scan_index_forward=False, limit=limit, page_size=limit
        )
        return [conversation_from_item(item) for item in query]

    def _sources(self, viewer: OperatorView, status: str | None, assignee: str | None) -> list[Source]:
        tenant = viewer.tenant_id
        if assignee in ("me", "unassigned", "mine_or_unassigned") or (assignee and assignee != "all"):
            people = {
                "me": [viewer.operator_id],
                "unassigned": [UNASSIGNED],
                "mine_or_unassigned": [viewer.operator_id, UNASSIGNED],
            }.get(assignee, [assignee])
            return [_source("by_assignee", f"{tenant}#{person}", status) for person in people]
        if viewer.sees_all or not status:
            statuses = [status] if status else ["open", "pending", "snoozed", "resolved"]
            return [_source("by_status", f"{tenant}#{value}", None) for value in statuses]
        # An operator's "all" is the union of their teams' and inboxes' partitions: each is an index query.
        return [_source("by_team", f"{tenant}#{team}", status) for team in sorted(viewer.team_ids)] + [
            _source("by_inbox", f"{tenant}#{inbox}", status) for inbox in sorted(viewer.inbox_ids)
        ]


def _source(index_name: str, hash_value: str, status: str | None) -> Source:
    index = getattr(ConversationItem, index_name)
    hash_attr, range_attr = _INDEX_KEYS[index_name]
    condition = None
    if status and range_attr == "status_key":
        condition = ConversationItem.status_key.startswith(f"{status}#")

    def run(start_key: dict | None, limit: int) -> Iterator[ConversationItem]:
        if start_key is not None and not _belongs(start_key):
            raise BadRequest("The cursor is not valid for this list; start again from the first page.")
        return iter(
            index.query(
                hash_value,
                range_key_condition=condition,
                scan_index_forward=False,
                last_evaluated_key=start_key,
                page_size=min(max(limit, 1), 100),
            )
        )

    def _belongs(key: object) -> bool:
        """A cursor may only resume this very query: same index partition, well-formed keys."""
        expected = {"tenant_id", "conversation_id", hash_attr, range_attr}
        return (isinstance(key, dict) and set(key) == expected and key[hash_attr] == {"S": hash_value}
                and all(isinstance(v, dict) and isinstance(v.get("S"), str) for v in key.values()))

    def start_key(item: ConversationItem) -> dict:
        return {
            "tenant_id": {"S": item.tenant_id},
            "conversation_id": {"S": item.conversation_id},
            hash_attr: {"S": getattr(item, hash_attr)},
            range_attr: {"S": getattr(item, range_attr)},
        }

    return Source(name=f"{index_name}:{hash_value}", run=run, start_key=start_key)


