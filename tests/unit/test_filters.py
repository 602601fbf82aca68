"""The list's postings, counters and plans (domain/filters.py): pure, checked against brute force."""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.domain import clock
from switchboard.domain.conversation import Conversation, OperatorView, Status
from switchboard.domain.errors import BadRequest
from switchboard.domain.filters import (
    ALL,
    SLA,
    TENANT,
    UNANSWERED,
    UNASSIGNED,
    UNTAGGED,
    WAITING,
    ListFilter,
    Posting,
    Reach,
    Source,
    count_keys,
    diff,
    matches,
    parse_filter,
    partition_sizes,
    plan,
    postings,
    reach,
    reach_keys,
    summarize,
    tallies,
)

NOW = datetime(2026, 7, 20, 12, 0, tzinfo=UTC)
TEAMS, INBOXES, OPERATORS, TAGS = ["T1", "T2", "T3"], ["I1", "I2", "I3"], ["anna", "boris", "olga"], ["vip", "bug"]


def at(minutes: int) -> str:
    return clock.iso(NOW + timedelta(minutes=minutes))


def conversation(**fields) -> Conversation:
    base = dict(tenant_id="t", id="C1", inbox_id="I1", contact_id="k", channel="telegram", status=Status.OPEN,
                team_id="T1", created_at=at(-60), last_activity_at=at(-5))
    return Conversation(**{**base, **fields})


def operator(name="anna", teams=("T1",), inboxes=(), role="operator") -> OperatorView:
    return OperatorView("t", name, role, frozenset(teams), frozenset(inboxes))


def pairs(found: set[Posting]) -> set[tuple[str, str]]:
    return {(p.facet, p.scope) for p in found}


# ------------------------------------------------------------------ postings
def test_a_new_unassigned_waiting_conversation_is_posted_for_every_view_that_shows_it():
    found = postings(conversation(waiting_since=at(-7)))
    scopes = {TENANT, "team:T1", "inbox:I1"}
    facets = {ALL, UNASSIGNED, UNANSWERED, UNTAGGED, WAITING, "priority:normal"}
    assert pairs(found) == {(facet, scope) for facet in facets for scope in scopes}
    assert {p.sort for p in found if p.facet == WAITING} == {at(-7)}  # longest waiting sorts by waiting_since
    assert {p.sort for p in found if p.facet == ALL} == {at(-5)} and {p.status for p in found} == {"open"}


def test_an_assigned_tagged_conversation_is_posted_for_its_assignee_and_followers():
    found = postings(conversation(assignee_id="anna", participants=["anna", "boris"], tags=["vip", "bug"],
                                  priority="urgent", sla_due_at="2026-07-20T12:30:00+00:00"))
    assert ("tag:vip", "assignee:anna") in pairs(found) and ("tag:bug", "team:T1") in pairs(found)
    assert not {facet for facet, _ in pairs(found)} & {UNASSIGNED, UNTAGGED, UNANSWERED}
    # Followers get only the three sort orders; the assignee's own scope already holds everything.
    assert {f for f, s in pairs(found) if s == "participant:boris"} == {ALL, SLA}
    assert not [p for p in found if p.scope == "participant:anna"]
    assert {p.sort for p in found if p.facet == SLA} == {"2026-07-20T12:30:00.000Z"}  # normalized to sort


# ------------------------------------------------------------------ diffs
def test_new_activity_moves_the_postings_and_leaves_the_counters():
    old = conversation(assignee_id="anna")
    new = dataclasses.replace(old, last_activity_at=at(-1), last_message={"text": "hi"}, version=2)
    change = diff(old, new)
    assert change.counts == {}
    assert {p.sort for p in change.deletes} == {at(-5)} and {p.sort for p in change.puts} == {at(-1)}
    assert len(change.puts) == len(postings(new))


def test_a_partial_item_without_an_inbox_is_in_no_list():
    stray = conversation(inbox_id=None, status=Status.SNOOZED)  # an update that created the item it meant to change
    assert diff(None, stray).empty and diff(stray, dataclasses.replace(stray, version=2)).empty


def test_a_change_the_list_does_not_show_writes_nothing():
    old = conversation()
    assert diff(old, dataclasses.replace(old, operator_active_until=at(10))).empty


def test_a_new_field_value_rewrites_the_rows_in_place():
    old = conversation()
    change = diff(old, dataclasses.replace(old, title="Refund", version=2))
    assert change.deletes == () and set(change.puts) == postings(old) and change.row.title == "Refund"


def test_assigning_moves_the_conversation_between_counters():
    old = conversation(waiting_since=at(-7))
    change = diff(old, dataclasses.replace(old, assignee_id="anna"))
    by_key = {(k.facet, k.holder): cells for k, cells in change.counts.items()}
    assert (ALL, TENANT) not in by_key  # still one open conversation in the tenant
    assert by_key[(UNASSIGNED, TENANT)] == {("c", "T1", "I1"): -1}
    assert by_key[(ALL, "op:anna")] == {("c", "T1", "I1"): 1, ("a", "T1", "I1"): 1}
    assert by_key[(UNANSWERED, "op:anna")] == {("c", "T1", "I1"): 1, ("a", "T1", "I1"): 1}


states = st.builds(
    lambda status, assignee, team, inbox, tags, participants, waiting, sla, activity, priority: conversation(
        status=status, assignee_id=assignee, team_id=team, inbox_id=inbox, tags=tags, participants=participants,
        waiting_since=at(-waiting) if waiting else None, sla_due_at=at(sla) if sla is not None else None,
        last_activity_at=at(-activity), priority=priority),
    st.sampled_from(list(Status)), st.sampled_from([None, *OPERATORS]), st.sampled_from([None, *TEAMS]),
    st.sampled_from(INBOXES), st.lists(st.sampled_from(TAGS), unique=True), st.lists(st.sampled_from(OPERATORS),
                                                                                     unique=True),
    st.integers(0, 3), st.one_of(st.none(), st.integers(-30, 30)), st.integers(0, 5),
    st.sampled_from(["low", "normal", "high", "urgent"]))


@settings(max_examples=150, deadline=None)
@given(st.lists(states, min_size=1, max_size=6), st.booleans())
def test_applying_the_diffs_of_any_history_leaves_exactly_the_last_states_postings_and_counts(history, removed):
    stored: set[Posting] = set()
    counted: Counter = Counter()
    previous = None
    for state in [*history, None] if removed else history:
        change = diff(previous, state)
        assert not set(change.deletes) - stored, "deletes only what is there"
        stored = (stored - set(change.deletes)) | set(change.puts)
        for key, cells in change.counts.items():
            for cell, delta in cells.items():
                counted[(key, cell)] += delta
        previous = state
    assert stored == (postings(history[-1]) if not removed else set())
    assert +counted == (tallies(history[-1]) if not removed else Counter())
    assert not -counted  # no counter ever ends below zero


# ------------------------------------------------------------------ counters: exact, and only what one may see
viewers = st.builds(
    lambda name, teams, inboxes, role: OperatorView("t", name, role, frozenset(teams), frozenset(inboxes)),
    st.sampled_from(OPERATORS), st.lists(st.sampled_from(TEAMS), unique=True),
    st.lists(st.sampled_from(INBOXES), unique=True), st.sampled_from(["operator", "operator", "supervisor"]))


@settings(max_examples=150, deadline=None)
@given(st.lists(states, max_size=25), viewers)
def test_every_counter_equals_a_count_of_what_the_viewer_may_see(states, viewer):
    conversations = [dataclasses.replace(state, id=f"C{n}") for n, state in enumerate(states)]
    totals: Counter = Counter()
    for item in conversations:
        totals.update(tallies(item))
    found: dict = {}
    for (key, cell), count in totals.items():
        found.setdefault(key, {})[cell] = count
    keys = count_keys(viewer, "open", TAGS)
    counts = summarize(viewer, "open", {key: found.get(key, {}) for key in keys}, TAGS)

    seen = [c for c in conversations if c.visible_to(viewer)]
    open_seen = [c for c in seen if c.status is Status.OPEN]
    assert counts["all"] == len(open_seen)
    assert counts["mine"] == len([c for c in open_seen if c.assignee_id == viewer.operator_id])
    assert counts["unassigned"] == len([c for c in open_seen if c.assignee_id is None])
    assert counts["unanswered"] == len([c for c in open_seen if c.waiting_since])
    assert counts["untagged"] == len([c for c in open_seen if not c.tags])
    assert counts["sla"] == len([c for c in open_seen if c.sla_due_at])
    assert counts["tags"] == {tag: len([c for c in open_seen if tag in c.tags]) for tag in TAGS}
    assert counts["priorities"]["urgent"] == len([c for c in open_seen if c.priority == "urgent"])
    assert counts["statuses"] == {s.value: len([c for c in seen if c.status is s]) for s in Status}
    for team, count in counts["teams"].items():
        assert count == len([c for c in open_seen if c.team_id == team])
    for inbox, count in counts["inboxes"].items():
        assert count == len([c for c in open_seen if c.inbox_id == inbox])
    assert len(keys) == 2 * (len(keys) // 2)  # the tenant's tally and the viewer's own, nothing else


# ------------------------------------------------------------------ plans: every answer is in the partitions read
requests = st.builds(
    ListFilter,
    statuses=st.sampled_from([("open",), ("pending",), tuple(s.value for s in Status)]),
    assignee=st.sampled_from([None, "me", "unassigned", "mine_or_unassigned", "boris"]),
    team=st.sampled_from([None, None, "T2"]), inbox=st.sampled_from([None, None, "I3"]),
    tag=st.sampled_from([None, None, "vip"]), untagged=st.booleans(), unanswered=st.booleans(),
    priority=st.sampled_from([None, None, "urgent"]), sla=st.sampled_from([None, "breached", "due"]),
    sla_minutes=st.sampled_from([0, 20]), sort=st.sampled_from(["newest", "longest_waiting", "sla_due"]))


def read_by_plan(conversations: list[Conversation], request: ListFilter, viewer: OperatorView) -> set[str]:
    """What a list returns, played in memory: tallies decide the reach, the plan's partitions are read whole."""
    counted: Counter = Counter()
    partitions: dict = defaultdict(set)
    for item in conversations:
        counted.update(tallies(item))
        for posting in postings(item):
            partitions[(posting.facet, posting.scope, posting.status)].add((posting.sort, posting.conversation_id))
    found: dict = {}
    for (key, cell), count in counted.items():
        found.setdefault(key, {})[cell] = count
    keys = reach_keys(request, viewer)
    chosen = plan(request, viewer, now=NOW, reach=reach(viewer, {k: found.get(k, {}) for k in keys}))
    by_id = {item.id: item for item in conversations}
    rows = {cid for source in chosen.sources for sort, cid in partitions[(source.facet, source.scope, source.status)]
            if source.below is None or sort <= source.below}
    return {cid for cid in rows if matches(by_id[cid], request, viewer, NOW)}


@settings(max_examples=300, deadline=None)
@given(st.lists(states, max_size=20), requests, viewers)
def test_the_partitions_a_plan_reads_hold_every_answer(states, request, viewer):
    conversations = [dataclasses.replace(state, id=f"C{n}") for n, state in enumerate(states)]
    expected = {c.id for c in conversations if matches(c, request, viewer, NOW)}
    assert read_by_plan(conversations, request, viewer) == expected


def test_an_operator_skips_their_own_partitions_when_the_team_ones_hold_everything():
    anna = operator("anna", teams=("T1",))
    inside = conversation(id="C1", assignee_id="anna")
    outside = conversation(id="C2", team_id="T2", inbox_id="I2", participants=["anna"])
    counted: Counter = Counter()
    for item in (inside, outside):
        counted.update(tallies(item))
    found: dict = {}
    for (key, cell), count in counted.items():
        found.setdefault(key, {})[cell] = count
    keys = reach_keys(ListFilter(), anna)
    read = {key: found.get(key, {}) for key in keys}
    assert reach(anna, read) == Reach(assigned=False, followed=True)
    chosen = plan(ListFilter(), anna, now=NOW, reach=Reach(False, True))
    assert {s.scope for s in chosen.sources} == {"team:T1", "participant:anna"}
    # And the same tallies size each partition's first Query: one in the team (C1), one followed outside (C2)
    assert {s.scope: n for s, n in partition_sizes(chosen, anna, read).items()} == {"team:T1": 1,
                                                                                   "participant:anna": 1}
    assert reach_keys(ListFilter(), operator("o", role="admin")) == []  # admins read the tenant's partition only


# ------------------------------------------------------------------ plans and the checks on each row
def test_an_admin_reads_one_partition_and_an_operator_those_of_their_teams_inboxes_and_own():
    admin = operator("olga", role="admin")
    assert plan(ListFilter(), admin, now=NOW).sources == (Source(ALL, TENANT, "open"),)
    anna = operator("anna", teams=("T1", "T2"), inboxes=("I3",))
    scopes = {s.scope for s in plan(ListFilter(unanswered=True), anna, now=NOW).sources}
    assert scopes == {"team:T1", "team:T2", "inbox:I3", "assignee:anna", "participant:anna"}
    facets = {(s.scope, s.facet) for s in plan(ListFilter(unanswered=True), anna, now=NOW).sources}
    assert ("participant:anna", ALL) in facets and ("team:T1", UNANSWERED) in facets


def test_mine_and_unassigned_merge_the_assignees_partition_with_the_unassigned_ones():
    anna = operator("anna", teams=("T1",))
    sources = plan(ListFilter(assignee="mine_or_unassigned"), anna, now=NOW).sources
    assert {(s.facet, s.scope) for s in sources} == {
        (ALL, "assignee:anna"), (UNASSIGNED, "team:T1"), (ALL, "participant:anna")}


def test_sorts_choose_their_partitions_and_direction():
    anna = operator("anna")
    waiting = plan(ListFilter(sort="longest_waiting", assignee="me"), anna, now=NOW)
    assert waiting.ascending and waiting.sources == (Source(WAITING, "assignee:anna", "open"),)
    breached = plan(ListFilter(sort="sla_due", sla="breached"), operator("o", role="owner"), now=NOW)
    assert breached.sources == (Source(SLA, TENANT, "open", below=clock.iso(NOW)),)
    soon = plan(ListFilter(sort="sla_due", sla="due", sla_minutes=30), operator("o", role="owner"), now=NOW)
    assert soon.sources[0].below == at(30)
    newest = plan(ListFilter(statuses=("open", "pending"), tag="vip"), operator("o", role="owner"), now=NOW)
    assert not newest.ascending and {(s.facet, s.status) for s in newest.sources} == {
        ("tag:vip", "open"), ("tag:vip", "pending")}


def test_a_channel_reads_its_inboxes():
    sources = plan(ListFilter(channel="telegram"), operator("o", role="admin"), now=NOW, channel_inboxes=["I1", "I2"])
    assert {s.scope for s in sources.sources} == {"inbox:I1", "inbox:I2"}


def test_every_row_is_checked_for_the_whole_filter_and_the_access_rule():
    boris = operator("boris", teams=("T2",))
    theirs = conversation(team_id="T1", tags=["vip"])
    assert not matches(theirs, ListFilter(tag="vip"), boris, NOW)  # T1 is not his team
    assert matches(dataclasses.replace(theirs, participants=["boris"]), ListFilter(tag="vip"), boris, NOW)
    assert not matches(conversation(team_id="T2"), ListFilter(tag="vip"), boris, NOW)
    due = conversation(team_id="T2", sla_due_at=at(20))
    assert matches(due, ListFilter(sla="due", sla_minutes=30, sort="sla_due"), boris, NOW)
    assert not matches(due, ListFilter(sla="breached", sort="sla_due"), boris, NOW)
    assert not matches(conversation(team_id="T2"), ListFilter(sort="longest_waiting"), boris, NOW)


# ------------------------------------------------------------------ parameters
def test_parameters_are_parsed_and_defaults_kept():
    request = parse_filter({"status": "all", "assignee": "all", "tag": " VIP ", "unanswered": "true",
                            "sla_due_within": "45", "sort": "sla_due"})
    assert request.statuses == ("open", "pending", "snoozed", "resolved") and request.assignee is None
    assert (request.tag, request.unanswered, request.sla, request.sla_minutes) == ("vip", True, "due", 45)
    assert parse_filter({}) == ListFilter()


@pytest.mark.parametrize(("params", "says"), [
    ({"colour": "red"}, "Unknown filter 'colour'"),
    ({"status": "closed"}, "Unknown status 'closed'"),
    ({"priority": "asap"}, "Unknown priority 'asap'"),
    ({"sort": "oldest"}, "Unknown sort 'oldest'"),
    ({"unanswered": "yes"}, "unanswered must be true or false"),
    ({"sla": "late"}, "Unknown sla 'late'"),
    ({"sla_due_within": "-5"}, "sla_due_within must be a number of minutes"),
    ({"sla": "breached", "sla_due_within": "5"}, "not both"),
    ({"tag": "a#b"}, "may not contain"),
])
def test_unknown_values_are_refused_with_what_is_allowed(params, says):
    with pytest.raises(BadRequest) as refused:
        parse_filter(params)
    assert says in refused.value.detail
