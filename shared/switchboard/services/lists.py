"""Finding what needs an answer: the conversation list with every filter, the counters beside it, and keeping both
current from the conversations stream (domain/filters.py has the rules, store/views.py the items)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from ..domain import clock
from ..domain.conversation import Conversation, OperatorView
from ..domain.errors import BadRequest, NotFound
from ..domain.filters import (
    ASSIGNEE_KEYWORDS,
    STATUSES,
    ListFilter,
    Reach,
    count_keys,
    diff,
    matches,
    parse_filter,
    partition_sizes,
    plan,
    reach,
    reach_keys,
    summarize,
)
from ..domain.settings import normalize_tag
from ..store.directory import DirectoryStore
from ..store.streams import Change
from ..store.views import ViewStore

MAX_COUNTED_TAGS = 20


class ConversationLists:
    def __init__(self, views: ViewStore, directory: DirectoryStore, now: Callable[[], datetime] = clock.now) -> None:
        self._views = views
        self._directory = directory
        self._now = now

    def page(self, viewer: OperatorView, params: Mapping[str, str], *, limit: int,
             cursor: str | None) -> tuple[list[Conversation], str | None]:
        """A page of the conversations ``viewer`` may see that match ``params`` (the list's query parameters:
        status, assignee, team, inbox, channel, tag, untagged, unanswered, priority, sla, sla_due_within, sort)."""
        request = parse_filter(params)
        channel_inboxes = self._check(viewer, request)
        now = self._now()
        # An operator's list first reads two small tallies: they often spare two partitions, and size the others.
        keys = reach_keys(request, viewer)
        found = self._views.tallies(viewer.tenant_id, keys) if keys else {}
        chosen = plan(request, viewer, now=now, channel_inboxes=channel_inboxes,
                      reach=reach(viewer, found) if keys else Reach())
        return self._views.page(viewer.tenant_id, chosen, limit=limit, cursor=cursor,
                                keep=lambda conversation: matches(conversation, request, viewer, now),
                                sizes=partition_sizes(chosen, viewer, found) if keys else None)

    def counts(self, viewer: OperatorView, *, status: str = "open", tags: Iterable[str] = ()) -> dict:
        """The viewer's counters for ``status``: mine, unassigned, all, unanswered, …, per team, inbox and status;
        only ever counting conversations they may see."""
        if status not in STATUSES:
            raise BadRequest(f"Unknown status '{status}'; use {', '.join(STATUSES)}.")
        wanted = sorted({normalize_tag(tag) for tag in tags})
        if len(wanted) > MAX_COUNTED_TAGS:
            raise BadRequest(f"Ask for at most {MAX_COUNTED_TAGS} tags at once.")
        found = self._views.tallies(viewer.tenant_id, count_keys(viewer, status, wanted))
        return summarize(viewer, status, found, wanted)

    def project(self, change: Change) -> None:
        """Apply one conversations stream record to the postings and counters (exactly once, in order)."""
        if change.table != "conversations" or (change.old is None and change.new is None):
            return
        self._views.apply(diff(change.old, change.new), change.sequence)

    def _check(self, viewer: OperatorView, request: ListFilter) -> tuple[str, ...]:
        """Refuse ids that are not the tenant's; return the inboxes of the channel asked for."""
        tenant = viewer.tenant_id
        known = self._directory.names(tenant)
        for kind, value in (("team", request.team), ("inbox", request.inbox)):
            if value is not None and value not in known:
                raise BadRequest(f"Unknown {kind} '{value}'.")
        if request.assignee is not None and request.assignee not in ASSIGNEE_KEYWORDS:
            try:
                self._directory.operator(tenant, request.assignee)
            except NotFound:
                raise BadRequest(f"Unknown assignee '{request.assignee}'; use {', '.join(ASSIGNEE_KEYWORDS)} or "
                                 "an operator id.") from None
        if request.channel is None:
            return ()
        from ..channels import ADAPTERS

        if request.channel not in ADAPTERS:
            raise BadRequest(f"Unknown channel '{request.channel}'; use {', '.join(ADAPTERS)}.")
        return tuple(inbox.id for inbox in self._directory.inboxes(tenant) if inbox.channel == request.channel)
