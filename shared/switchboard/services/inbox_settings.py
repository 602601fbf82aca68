"""Admins' settings of an inbox that change how its conversations behave (not its channel credentials)."""

from __future__ import annotations

import dataclasses

from ..domain.auto_replies import AutoReplies
from ..domain.conversation import OperatorView
from ..domain.directory import Inbox
from ..domain.errors import BadRequest, Forbidden, NotFound
from ..store.directory import DirectoryStore

MAX_REOPEN_DAYS = 90
FIELDS = ("default_team_id", "reopen_within_days", "auto_replies")


class InboxSettingsService:
    def __init__(self, directory: DirectoryStore) -> None:
        self._directory = directory

    def update(self, viewer: OperatorView, inbox_id: str, body: dict) -> Inbox:
        """Change the default team, ``reopen_within_days`` and/or the auto-replies (domain/auto_replies.py). Warm
        functions see it within a minute (their directory cache), this process at once."""
        if not viewer.is_admin:
            raise Forbidden("Only owners and admins change an inbox's settings.")
        unknown = sorted(set(body) - set(FIELDS))
        if unknown or not body:
            raise BadRequest(f"Give one or more of {', '.join(FIELDS)}.")
        inbox = self._inbox(viewer, inbox_id)
        settings = dict(inbox.settings)
        if "reopen_within_days" in body:
            days = body["reopen_within_days"]
            if days is not None and (not isinstance(days, int) or isinstance(days, bool)
                                     or not 0 <= days <= MAX_REOPEN_DAYS):
                raise BadRequest(f"reopen_within_days must be a whole number of days from 0 to {MAX_REOPEN_DAYS}, "
                                 "or null (always start a new conversation).")
            settings["reopen_within_days"] = days or None
        if "auto_replies" in body:
            current = AutoReplies.from_stored(settings.get("auto_replies"))
            settings["auto_replies"] = AutoReplies.parse(body["auto_replies"], current).to_dict()
        team_id = inbox.default_team_id
        if "default_team_id" in body:
            team_id = body["default_team_id"]
            if team_id is not None and team_id not in {t.id for t in self._directory.teams(viewer.tenant_id)}:
                raise NotFound("No such team.")
        updated = dataclasses.replace(inbox, settings=settings, default_team_id=team_id)
        self._directory.put_inbox(updated)
        return updated

    def _inbox(self, viewer: OperatorView, inbox_id: str) -> Inbox:
        for inbox in self._directory.inboxes(viewer.tenant_id):
            if inbox.id == inbox_id:
                return inbox
        raise NotFound("No such inbox.")
