"""Saved replies of a workspace and of each operator: list with /shortcut search, create, delete, render."""

from __future__ import annotations

from pynamodb.exceptions import PutError

from ..domain.conversation import OperatorView
from ..domain.errors import Conflict, Forbidden, NotFound
from ..domain.ids import ulid
from ..domain.saved_replies import (
    SavedReply,
    clean_shortcut,
    clean_text,
    ordered,
    person_values,
    render,
)
from ..store.models import DirectoryItem, SavedReplyItem
from .conversations import ConversationService

EDITORS = ("owner", "admin", "supervisor")  # who may change the workspace's shared replies


class SavedReplyService:
    def __init__(self, conversations: ConversationService) -> None:
        self._conversations = conversations

    def list(self, viewer: OperatorView, query: str | None = None) -> list[dict]:
        """The workspace's replies and the caller's own, ordered, with hotkeys; ``query`` matches shortcut starts
        (``/del`` finds ``/delivery``) or words of the title."""
        needle = (query or "").strip().lstrip("/").lower()
        mine = [reply for reply in self._all(viewer.tenant_id) if reply.owner_id in (None, viewer.operator_id)]
        return [_view(reply, hotkey) for reply, hotkey in ordered(mine)
                if not needle or reply.shortcut.startswith(needle) or needle in reply.title.lower()]

    def create(self, viewer: OperatorView, *, shortcut: object, text: object, title: object = "",
               personal: bool = True, position: object = None) -> dict:
        if not personal and viewer.role not in EDITORS:
            raise Forbidden("Only owners, admins and supervisors edit the workspace's saved replies.")
        scope = viewer.operator_id if personal else "tenant"
        reply = SavedReply(id=ulid(), tenant_id=viewer.tenant_id, shortcut=clean_shortcut(shortcut),
                           text=clean_text(text), title=title.strip()[:100] if isinstance(title, str) else "",
                           owner_id=viewer.operator_id if personal else None,
                           position=position if isinstance(position, int) else 1000)
        item = SavedReplyItem(viewer.tenant_id, f"reply#{scope}#{reply.shortcut}", name=reply.title,
                              reply_id=reply.id, owner_id=reply.owner_id, shortcut=reply.shortcut, text=reply.text,
                              position=reply.position)
        try:
            item.save(condition=SavedReplyItem.sk.does_not_exist())
        except PutError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                raise Conflict(f"/{reply.shortcut} already exists; pick another shortcut.") from None
            raise
        return _view(reply, None)

    def delete(self, viewer: OperatorView, reply_id: str) -> None:
        reply = self._find(viewer, reply_id)
        if reply.owner_id is None and viewer.role not in EDITORS:
            raise Forbidden("Only owners, admins and supervisors edit the workspace's saved replies.")
        scope = reply.owner_id or "tenant"
        SavedReplyItem(viewer.tenant_id, f"reply#{scope}#{reply.shortcut}").delete()

    def rendered(self, viewer: OperatorView, conversation_id: str, reply_id: str) -> dict:
        """The reply's text for this conversation, variables filled from its contact and the caller."""
        conversation = self._conversations.get(viewer, conversation_id)
        reply = self._find(viewer, reply_id)
        values = {"contact": person_values(conversation.contact_name), "operator": person_values(viewer.name)}
        return {"id": reply.id, "shortcut": reply.shortcut, "text": render(reply.text, values)}

    def _find(self, viewer: OperatorView, reply_id: str) -> SavedReply:
        for reply in self._all(viewer.tenant_id):
            if reply.id == reply_id and reply.owner_id in (None, viewer.operator_id):
                return reply
        raise NotFound("No such saved reply.")

    def _all(self, tenant_id: str) -> list[SavedReply]:
        query = SavedReplyItem.query(tenant_id, DirectoryItem.sk.startswith("reply#"))
        return [SavedReply(id=item.reply_id, tenant_id=tenant_id, shortcut=item.shortcut, text=item.text,
                           title=item.name or "", owner_id=item.owner_id, position=int(item.position))
                for item in query]


def _view(reply: SavedReply, hotkey: int | None) -> dict:
    return {"id": reply.id, "shortcut": reply.shortcut, "title": reply.title, "text": reply.text,
            "personal": reply.owner_id is not None, "position": reply.position, "hotkey": hotkey}
