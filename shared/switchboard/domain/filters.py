"""Finding what needs an answer (PRODUCT.md §5): the list's filters, the postings that answer them with one Query
each, the counters beside them, and the access rule applied to both. Pure: store/views.py turns these into items.

A conversation is *posted* into one partition per (facet, scope, status) it belongs to:

- facet: what the partition holds, and the time it is sorted by —
  ``all``, ``unassigned``, ``unanswered`` (the last message is the contact's), ``untagged``, ``tag:<name>`` and
  ``priority:<p>`` by last activity (newest first); ``waiting`` (the unanswered again) by ``waiting_since``
  (longest waiting first); ``sla`` by ``sla_due_at`` (soonest first, so "breached" and "due within N minutes" are a
  key range).
- scope: whose view it serves — ``tenant`` (admins and supervisors), ``team:<id>`` and ``inbox:<id>`` (operators
  see their teams' and inboxes'), ``assignee:<id>`` ("mine", and "assigned to X"), ``participant:<id>`` (operators
  also see what they follow; only ``all``, ``waiting`` and ``sla`` there: following is rare, other filters trim it).

So every list is a k-way merge of a few partitions: an admin's "unanswered" is one partition, an operator's is his
teams', inboxes', assigned and followed ones. A conversation in both his team and his inbox is read twice and shown
once (duplicates are at most the overlap, hence "at most twice the items returned"). Combined filters query the
partition of the most selective facet and check the rest on the posting's projected row (``matches``), which also
re-applies the access rule, so a source that holds more than the viewer may see can never leak.

Counters are *tallies*: for each counted (facet, status), one tally for the tenant and one per operator involved
(assignee or participant), each counting conversations per (team, inbox) cell; an operator's tally also counts,
per cell, those assigned to them ("mine"). An operator sees a cell in full when it is one of his teams or inboxes,
and of any other cell only what is his own. Summing cells that way is exact for any number of teams and inboxes and
reads two items per counter family, whatever the tenant's size. The same tally tells a list whether the operator's
assigned and followed partitions hold anything outside his teams and inboxes (``Reach``): if not, the list skips
them, since the team and inbox partitions already hold all of it.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from . import clock
from .conversation import Conversation, OperatorView, Status
from .errors import BadRequest
from .settings import PRIORITIES, normalize_tag

# ------------------------------------------------------------------ facets and scopes
ALL, UNASSIGNED, UNANSWERED, UNTAGGED, WAITING, SLA = "all", "unassigned", "unanswered", "untagged", "waiting", "sla"
TENANT = "tenant"
NO_TEAM = "-"  # the team cell of conversations that belong to no team
COUNT, ASSIGNED = "c", "a"  # a cell counts every conversation of its tally, or only those assigned to its holder

SORTS = {"newest": ALL, "longest_waiting": WAITING, "sla_due": SLA}
ASSIGNEE_KEYWORDS = ("me", "unassigned", "mine_or_unassigned", "all")
STATUSES = tuple(status.value for status in Status)
MAX_SLA_MINUTES = 7 * 24 * 60

# Fields the list never shows: a change of only these does not rewrite a conversation's postings.
_NOT_LISTED = ("operator_active_until", "changed_by", "woke_at")


def tag_facet(tag: str) -> str:
    return f"tag:{tag}"


def priority_facet(priority: str) -> str:
    return f"priority:{priority}"


def team_scope(team_id: str) -> str:
    return f"team:{team_id}"


def inbox_scope(inbox_id: str) -> str:
    return f"inbox:{inbox_id}"


def assignee_scope(operator_id: str) -> str:
    return f"assignee:{operator_id}"


def participant_scope(operator_id: str) -> str:
    return f"participant:{operator_id}"


def operator_holder(operator_id: str) -> str:
    """The tally holder of one operator's conversations (assigned or followed)."""
    return f"op:{operator_id}"


def sortable(moment: str | None) -> str:
    """A time as the fixed-width ISO string postings sort by (``clock.iso``); other spellings are normalized."""
    if not moment:
        return ""
    if len(moment) == 24 and moment[10] == "T" and moment[19] == "." and moment[23] == "Z":
        return moment  # clock.iso's own spelling already
    try:
        return clock.iso(clock.parse_iso(moment))
    except ValueError:
        return moment


# ------------------------------------------------------------------ postings
@dataclass(frozen=True, order=True)
class Posting:
    """One conversation in one partition, at its sort position."""

    facet: str
    scope: str
    status: str
    sort: str
    conversation_id: str


def listed(conversation: Conversation) -> Conversation:
    """The conversation as list rows project it: without what the list never shows."""
    names = {f.name for f in dataclasses.fields(conversation)}
    return dataclasses.replace(conversation, **{name: None for name in _NOT_LISTED if name in names})


def postings(conversation: Conversation) -> set[Posting]:
    """Every partition ``conversation`` belongs to, and where it sorts in each."""
    status, cid = str(conversation.status), conversation.id
    activity = sortable(conversation.last_activity_at or conversation.created_at)
    timed = _timed_facets(conversation)
    found: set[Posting] = set()
    for scope in _scopes(conversation):
        kinds = [(facet, activity) for facet in _activity_facets(conversation)] + timed
        found.update(Posting(facet, scope, status, at, cid) for facet, at in kinds)
    for operator_id in _followers(conversation):
        kinds = [(ALL, activity)] + timed
        found.update(Posting(facet, participant_scope(operator_id), status, at, cid) for facet, at in kinds)
    return found


def _activity_facets(conversation: Conversation) -> list[str]:
    facets = [ALL, priority_facet(conversation.priority or "normal")]
    facets += [tag_facet(tag) for tag in sorted(set(conversation.tags))] or [UNTAGGED]
    if conversation.assignee_id is None:
        facets.append(UNASSIGNED)
    if conversation.waiting_since:
        facets.append(UNANSWERED)
    return facets


def _timed_facets(conversation: Conversation) -> list[tuple[str, str]]:
    timed = []
    if conversation.waiting_since:
        timed.append((WAITING, sortable(conversation.waiting_since)))
    if conversation.sla_due_at:
        timed.append((SLA, sortable(conversation.sla_due_at)))
    return timed


def _scopes(conversation: Conversation) -> list[str]:
    scopes = [TENANT, inbox_scope(conversation.inbox_id)]
    if conversation.team_id:
        scopes.append(team_scope(conversation.team_id))
    if conversation.assignee_id:
        scopes.append(assignee_scope(conversation.assignee_id))
    return scopes


def _followers(conversation: Conversation) -> list[str]:
    """Participants other than the assignee (whose own scope already holds the conversation)."""
    return sorted(set(conversation.participants) - {conversation.assignee_id})


# ------------------------------------------------------------------ tallies (the counters)
@dataclass(frozen=True, order=True)
class TallyKey:
    """One counter item: a (facet, status) counted for the tenant or for one operator."""

    facet: str
    status: str
    holder: str  # TENANT | operator_holder(id)


Cell = tuple[str, str, str]  # (COUNT or ASSIGNED, team id or NO_TEAM, inbox id)
Tallies = dict[TallyKey, dict[Cell, int]]


def counted_facets(conversation: Conversation) -> list[str]:
    """The facets whose counters include ``conversation`` (``waiting`` is counted as ``unanswered``)."""
    return _activity_facets(conversation) + ([SLA] if conversation.sla_due_at else [])


def tallies(conversation: Conversation | None) -> Counter[tuple[TallyKey, Cell]]:
    """What ``conversation`` adds to the counters: one per counted facet in its (team, inbox) cell of the tenant's
    and each involved operator's tally, and one more in the assigned cell of its assignee's."""
    found: Counter[tuple[TallyKey, Cell]] = Counter()
    if conversation is None:
        return found
    status, where = str(conversation.status), (conversation.team_id or NO_TEAM, conversation.inbox_id)
    involved = set(conversation.participants) | ({conversation.assignee_id} - {None})
    for facet in counted_facets(conversation):
        found[(TallyKey(facet, status, TENANT), (COUNT, *where))] += 1
        for operator_id in involved:
            found[(TallyKey(facet, status, operator_holder(operator_id)), (COUNT, *where))] += 1  # type: ignore[arg-type]
        if conversation.assignee_id:
            found[(TallyKey(facet, status, operator_holder(conversation.assignee_id)), (ASSIGNED, *where))] += 1
    return found


# ------------------------------------------------------------------ the change one stream record makes
@dataclass(frozen=True)
class PostingDiff:
    """The writes that take the views from ``old`` to ``new``."""

    tenant_id: str
    conversation_id: str
    row: Conversation | None  # what every posting of ``puts`` projects
    puts: tuple[Posting, ...] = ()  # new positions, and every posting whose projected row changed
    deletes: tuple[Posting, ...] = ()
    counts: Tallies = field(default_factory=dict)  # non-zero deltas

    @property
    def empty(self) -> bool:
        return not (self.puts or self.deletes or self.counts)


def listable(conversation: Conversation | None) -> Conversation | None:
    """The conversation, if a list can show it: an item without its inbox (a partial write, such as an update that
    created the item it meant to change) belongs to no list and counts nowhere."""
    return conversation if conversation is not None and conversation.inbox_id and conversation.id else None


def diff(old: Conversation | None, new: Conversation | None) -> PostingDiff:
    """From the OLD and NEW images of one stream record: postings to put and delete, counter deltas."""
    subject = new or old
    if subject is None:
        raise ValueError("a change needs an old or a new conversation")
    old, new = listable(old), listable(new)
    before, after = (postings(old) if old else set()), (postings(new) if new else set())
    row = listed(new) if new else None
    rewritten = after if row != (listed(old) if old else None) else after - before
    delta: Tallies = {}
    changes = tallies(new)
    changes.subtract(tallies(old))
    for (key, cell), count in sorted(changes.items()):
        if count:
            delta.setdefault(key, {})[cell] = count
    return PostingDiff(subject.tenant_id, subject.id, row, tuple(sorted(rewritten)), tuple(sorted(before - after)),
                       delta)


# ------------------------------------------------------------------ what the list is asked for
@dataclass(frozen=True)
class ListFilter:
    """A validated list request: every filter of PRODUCT.md §5, combinable."""

    statuses: tuple[str, ...] = ("open",)
    assignee: str | None = None  # None: all I may see | "me" | "unassigned" | "mine_or_unassigned" | an operator id
    team: str | None = None
    inbox: str | None = None
    channel: str | None = None
    tag: str | None = None
    untagged: bool = False
    unanswered: bool = False
    priority: str | None = None
    sla: str | None = None  # "breached" | "due" (with sla_minutes)
    sla_minutes: int = 0
    sort: str = "newest"


PARAMETERS = ("status", "assignee", "team", "inbox", "channel", "tag", "untagged", "unanswered", "priority", "sla",
              "sla_due_within", "sort")


def parse_filter(params: Mapping[str, str]) -> ListFilter:
    """A ListFilter from query parameters; anything unknown is a 400 that says what is allowed."""
    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        raise BadRequest(f"Unknown filter '{unknown[0]}'; use {', '.join(PARAMETERS)}.")
    sla, minutes = _sla(params)
    return ListFilter(
        statuses=_statuses(params.get("status") or "open"),
        assignee=_assignee(params.get("assignee")),
        team=params.get("team") or None,
        inbox=params.get("inbox") or None,
        channel=params.get("channel") or None,
        tag=normalize_tag(params["tag"]) if params.get("tag") else None,
        untagged=_flag(params, "untagged"),
        unanswered=_flag(params, "unanswered"),
        priority=_choice(params, "priority", PRIORITIES),
        sla=sla,
        sla_minutes=minutes,
        sort=_choice(params, "sort", tuple(SORTS)) or "newest",
    )


def _statuses(value: str) -> tuple[str, ...]:
    if value == "all":
        return STATUSES
    if value not in STATUSES:
        raise BadRequest(f"Unknown status '{value}'; use {', '.join(STATUSES)} or all.")
    return (value,)


def _assignee(value: str | None) -> str | None:
    return None if value in (None, "", "all") else value


def _flag(params: Mapping[str, str], name: str) -> bool:
    value = params.get(name)
    if value in (None, "", "false", "0"):
        return False
    if value in ("true", "1"):
        return True
    raise BadRequest(f"{name} must be true or false, not '{value}'.")


def _choice(params: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    value = params.get(name)
    if not value:
        return None
    if value not in allowed:
        raise BadRequest(f"Unknown {name} '{value}'; use {', '.join(allowed)}.")
    return value


def _sla(params: Mapping[str, str]) -> tuple[str | None, int]:
    state, within = params.get("sla") or None, params.get("sla_due_within")
    if state not in (None, "breached"):
        raise BadRequest(f"Unknown sla '{state}'; use breached (or sla_due_within=<minutes>).")
    if within in (None, ""):
        return state, 0
    if state:
        raise BadRequest("Give sla=breached or sla_due_within=<minutes>, not both.")
    if not within.isdigit() or int(within) > MAX_SLA_MINUTES:
        raise BadRequest(f"sla_due_within must be a number of minutes from 0 to {MAX_SLA_MINUTES}.")
    return "due", int(within)


# ------------------------------------------------------------------ how a list is read
@dataclass(frozen=True, order=True)
class Source:
    """One partition to read: postings of ``facet`` in ``scope`` with ``status``; ``below``: only sort keys
    earlier than this time (SLA deadlines up to a bound)."""

    facet: str
    scope: str
    status: str
    below: str | None = None


@dataclass(frozen=True)
class Reach:
    """Whether an operator's list must read their assigned and followed partitions: only when some of those
    conversations lie outside their teams and inboxes (the team and inbox partitions hold all the others)."""

    assigned: bool = True
    followed: bool = True


def reach_keys(request: ListFilter, viewer: OperatorView) -> list[TallyKey]:
    """The tallies an operator's list reads first (none when it reads a single partition): the viewer's own, which
    decide their Reach, and the tenant's, which size each partition's first Query (``partition_sizes``)."""
    if viewer.sees_all or _narrowed(request, ()) is not None or request.assignee not in (
            None, "unassigned", "mine_or_unassigned"):
        return []
    facet = _counted(_primary_facet(request, unassigned=request.assignee is not None))
    holders = (operator_holder(viewer.operator_id), TENANT)
    return [TallyKey(facet, status, holder) for status in request.statuses for holder in holders]


def reach(viewer: OperatorView, found: Mapping[TallyKey, Mapping[Cell, int]]) -> Reach:
    """From the tallies ``reach_keys`` named: is anything of theirs outside their teams and inboxes?"""
    outside: Counter[str] = Counter()
    for key, cells in found.items():
        if key.holder != operator_holder(viewer.operator_id):
            continue
        for (kind, team, inbox), count in cells.items():
            if not _inside(viewer, team, inbox):
                outside[kind] += max(0, count)
    return Reach(assigned=outside[ASSIGNED] > 0, followed=outside[COUNT] > outside[ASSIGNED])


def partition_sizes(chosen: ListPlan, viewer: OperatorView,
                    found: Mapping[TallyKey, Mapping[Cell, int]]) -> dict[Source, int]:
    """How many wanted conversations each source holds, from the tallies ``reach_keys`` named, so that each
    partition's first Query asks for about its share of the page (the newest rows come from the partitions in
    proportion to their sizes). Only a guide: the merge reads on when a guess is short; sources it cannot size
    (the "mine" half of mine-or-unassigned, counted under another facet) are left out."""
    facets = {key.facet for key in found}
    if len(facets) != 1:
        return {}
    facet = facets.pop()
    sizes = {}
    for source in chosen.sources:
        if source.scope.startswith("assignee:") and _counted(source.facet) != facet:
            continue
        tenant = found.get(TallyKey(facet, source.status, TENANT), {})
        own = found.get(TallyKey(facet, source.status, operator_holder(viewer.operator_id)), {})
        sizes[source] = _size(source.scope, tenant, own)
    return sizes


def _size(scope: str, tenant: Mapping[Cell, int], own: Mapping[Cell, int]) -> int:
    kind, _, value = scope.partition(":")
    if kind == "team":
        return sum(n for (k, team, _), n in tenant.items() if k == COUNT and team == value)
    if kind == "inbox":
        return sum(n for (k, _, inbox), n in tenant.items() if k == COUNT and inbox == value)
    assigned = sum(n for (k, _, _), n in own.items() if k == ASSIGNED)
    if kind == "assignee":
        return assigned
    if kind == "participant":
        return max(0, sum(n for (k, _, _), n in own.items() if k == COUNT) - assigned)
    return sum(n for (k, _, _), n in tenant.items() if k == COUNT)


def _counted(facet: str) -> str:
    """The counted facet with the same members (``waiting`` is ``unanswered`` in another order)."""
    return UNANSWERED if facet == WAITING else facet


@dataclass(frozen=True)
class ListPlan:
    sources: tuple[Source, ...]
    ascending: bool  # longest waiting and SLA due soonest read oldest first; the rest newest first


def plan(request: ListFilter, viewer: OperatorView, *, now: datetime, channel_inboxes: Iterable[str] = (),
         reach: Reach = Reach()) -> ListPlan:
    """The partitions that together hold every answer to ``request`` for ``viewer`` (and few others).

    ``channel_inboxes``: the tenant's inboxes of ``request.channel``; ``reach``: which own partitions are needed.
    """
    below = _sla_bound(request, now) if SORTS[request.sort] == SLA else None
    sources: set[Source] = set()
    for scopes, unassigned in _scope_groups(request, viewer, tuple(channel_inboxes), reach):
        facet = _primary_facet(request, unassigned)
        for scope in scopes:
            for status in request.statuses:
                sources.add(Source(_available(facet, scope), scope, status, below))
    return ListPlan(tuple(sorted(sources)), ascending=SORTS[request.sort] != ALL)


def _primary_facet(request: ListFilter, unassigned: bool) -> str:
    """The facet whose partitions hold the answers, most selective first; the sort may dictate it."""
    sorted_by = SORTS[request.sort]
    if sorted_by != ALL:
        return sorted_by
    if request.tag:
        return tag_facet(request.tag)
    if unassigned:
        return UNASSIGNED
    if request.unanswered:
        return UNANSWERED
    if request.untagged:
        return UNTAGGED
    if request.priority:
        return priority_facet(request.priority)
    return ALL


def _available(facet: str, scope: str) -> str:
    """Participant scopes hold only the three sort orders; the others' filters are checked on the rows."""
    if scope.startswith("participant:") and facet not in (ALL, WAITING, SLA):
        return ALL
    return facet


def _scope_groups(request: ListFilter, viewer: OperatorView, channel_inboxes: tuple[str, ...],
                  reach: Reach) -> list[tuple[list[str], bool]]:
    """(scopes, whether that group is the "unassigned" one) whose union holds every answer."""
    me, assignee = viewer.operator_id, request.assignee
    if assignee == "me":
        return [([assignee_scope(me)], False)]
    if assignee not in (None, "unassigned", "mine_or_unassigned"):
        return [([assignee_scope(assignee)], False)]
    narrowed = _narrowed(request, channel_inboxes)
    if assignee is None:
        return [(narrowed if narrowed is not None else _seen_by(viewer, reach, own=True), False)]
    unassigned = narrowed if narrowed is not None else _seen_by(viewer, reach, own=False)
    groups = [(unassigned, True)]
    if assignee == "mine_or_unassigned":
        groups.append(([assignee_scope(me)], False))
    return groups


def _narrowed(request: ListFilter, channel_inboxes: tuple[str, ...]) -> list[str] | None:
    if request.team:
        return [team_scope(request.team)]
    if request.inbox:
        return [inbox_scope(request.inbox)]
    if request.channel:
        return [inbox_scope(inbox) for inbox in channel_inboxes]
    return None


def _seen_by(viewer: OperatorView, reach: Reach, *, own: bool) -> list[str]:
    """The scopes of everything ``viewer`` may see; ``own`` adds what is assigned to them (when ``reach`` says
    some of it is outside their teams and inboxes)."""
    if viewer.sees_all:
        return [TENANT]
    scopes = [team_scope(team) for team in sorted(viewer.team_ids)]
    scopes += [inbox_scope(inbox) for inbox in sorted(viewer.inbox_ids)]
    if reach.followed:
        scopes.append(participant_scope(viewer.operator_id))
    if own and reach.assigned:
        scopes.append(assignee_scope(viewer.operator_id))
    return scopes


def _sla_bound(request: ListFilter, now: datetime) -> str | None:
    if request.sla == "breached":
        return clock.iso(now)
    if request.sla == "due":
        return clock.iso(now + timedelta(minutes=request.sla_minutes))
    return None


def matches(conversation: Conversation, request: ListFilter, viewer: OperatorView, now: datetime) -> bool:
    """The whole request, and the access rule, checked on one row: what every source's postings go through."""
    return conversation.visible_to(viewer) and all(check(conversation) for check in _checks(request, viewer, now))


def _checks(request: ListFilter, viewer: OperatorView, now: datetime) -> list:
    checks = [lambda c: str(c.status) in request.statuses, _assignee_check(request.assignee, viewer.operator_id)]
    wanted = {"team_id": request.team, "inbox_id": request.inbox, "channel": request.channel,
              "priority": request.priority}
    checks += [lambda c, name=name, value=value: getattr(c, name) == value
               for name, value in wanted.items() if value is not None]
    if request.tag:
        checks.append(lambda c: request.tag in c.tags)
    if request.untagged:
        checks.append(lambda c: not c.tags)
    if request.unanswered or request.sort == "longest_waiting":
        checks.append(lambda c: bool(c.waiting_since))
    if request.sla or request.sort == "sla_due":
        bound = _sla_bound(request, now)
        checks.append(lambda c: bool(c.sla_due_at) and (bound is None or sortable(c.sla_due_at) <= bound))
    return checks


def _assignee_check(assignee: str | None, me: str):  # type: ignore[no-untyped-def]
    if assignee is None:
        return lambda c: True
    if assignee == "me":
        return lambda c: c.assignee_id == me
    if assignee == "unassigned":
        return lambda c: c.assignee_id is None
    if assignee == "mine_or_unassigned":
        return lambda c: c.assignee_id in (me, None)
    return lambda c: c.assignee_id == assignee


# ------------------------------------------------------------------ the counters a viewer sees
COUNTED = (ALL, UNASSIGNED, UNANSWERED, UNTAGGED, SLA) + tuple(priority_facet(p) for p in PRIORITIES)


def count_keys(viewer: OperatorView, status: str, tags: Iterable[str] = ()) -> list[TallyKey]:
    """The tallies a viewer's counters are summed from: the tenant's and the viewer's own, for every counted facet
    of ``status`` (and ``all`` of the other statuses, for the status badges)."""
    facets = list(COUNTED) + [tag_facet(tag) for tag in tags]
    pairs = [(facet, status) for facet in facets] + [(ALL, other) for other in STATUSES if other != status]
    holders = (TENANT, operator_holder(viewer.operator_id))
    return [TallyKey(facet, state, holder) for facet, state in pairs for holder in holders]


def summarize(viewer: OperatorView, status: str, found: Mapping[TallyKey, Mapping[Cell, int]],
              tags: Iterable[str] = ()) -> dict:
    """The viewer's counters from the tallies ``count_keys`` named (missing ones are zero). Teams and inboxes are
    those the viewer belongs to and those any conversation of ``status`` is in."""
    def seen(facet: str, state: str = status) -> dict[tuple[str, str], int]:
        return _seen_cells(viewer, found.get(TallyKey(facet, state, TENANT), {}),
                           found.get(TallyKey(facet, state, operator_holder(viewer.operator_id)), {}))

    def mine(facet: str) -> int:
        own = found.get(TallyKey(facet, status, operator_holder(viewer.operator_id)), {})
        return sum(max(0, n) for (kind, _, _), n in own.items() if kind == ASSIGNED)

    everything = seen(ALL)
    counts = {facet: sum(seen(facet).values()) for facet in (ALL, UNASSIGNED, UNANSWERED, UNTAGGED, SLA)}
    return {
        "status": status,
        "mine": mine(ALL),
        "unassigned": counts[UNASSIGNED],
        "mine_or_unassigned": mine(ALL) + counts[UNASSIGNED],
        "all": counts[ALL],
        "unanswered": counts[UNANSWERED],
        "mine_unanswered": mine(UNANSWERED),
        "untagged": counts[UNTAGGED],
        "sla": counts[SLA],
        "priorities": {p: sum(seen(priority_facet(p)).values()) for p in PRIORITIES},
        "tags": {tag: sum(seen(tag_facet(tag)).values()) for tag in tags},
        "teams": _by(everything, 0, viewer.team_ids),
        "inboxes": _by(everything, 1, viewer.inbox_ids),
        "statuses": {state: sum(seen(ALL, state).values()) for state in STATUSES},
    }


def _by(cells: Mapping[tuple[str, str], int], part: int, always: Iterable[str]) -> dict[str, int]:
    """Counts per team (``part`` 0) or per inbox (1)."""
    totals = dict.fromkeys(sorted(always), 0)
    for cell, count in cells.items():
        if cell[part] != NO_TEAM:
            totals[cell[part]] = totals.get(cell[part], 0) + count
    return totals


def _seen_cells(viewer: OperatorView, tenant: Mapping[Cell, int],
                own: Mapping[Cell, int]) -> dict[tuple[str, str], int]:
    """How many conversations of each (team, inbox) the viewer may see: the whole cell when it is one of their teams
    or inboxes (or they see everything), otherwise only those assigned to them or that they follow."""
    seen = {}
    for kind, team, inbox in {*tenant, *own}:
        if kind != COUNT:
            continue
        whole = _inside(viewer, team, inbox)
        seen[(team, inbox)] = max(0, (tenant if whole else own).get((COUNT, team, inbox), 0))
    return seen


def _inside(viewer: OperatorView, team: str, inbox: str) -> bool:
    return viewer.sees_all or team in viewer.team_ids or inbox in viewer.inbox_ids
