"""The conversation list and its counters against the real tables (in-process moto), kept from the stream."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import timedelta
from typing import Any

import boto3
import pytest

from switchboard.domain import clock
from switchboard.domain.conversation import Conversation, OperatorView, Status
from switchboard.domain.errors import BadRequest
from switchboard.domain.filters import diff, postings
from switchboard.domain.inbound import InboundMessage, Profile
from switchboard.services.lists import ConversationLists
from switchboard.store.streams import Change
from switchboard.store.views import ViewStore
from switchboard.store.writes import ConversationWriter

_sources = itertools.count(1)


def person(demo, email: str) -> OperatorView:
    found = next(p for p in demo["operators"] if p["email"] == email)
    return OperatorView(demo["tenant"]["id"], found["id"], found["role"], frozenset(found["team_ids"]),
                        name=found["name"])


def inbox_id(demo, channel: str) -> str:
    return next(inbox["id"] for inbox in demo["inboxes"] if inbox["channel"] == channel)


def team_id(demo, name: str) -> str:
    return next(team["id"] for team in demo["teams"] if team["name"] == name)


def customer_writes(services, demo, channel: str, name: str, **changes: Any) -> Conversation:
    """Given a customer who writes in ``channel``'s inbox; then ``changes`` (assignee, tags, …) are made to it."""
    inbox = services.directory.inbox(inbox_id(demo, channel))
    source, now = f"src-{next(_sources)}", clock.iso(clock.now())
    services.ingest.handle(inbox, [InboundMessage(source_id=source, external_id=f"{source}:1", sent_at=now,
                                                  text=f"hello from {name}", profile=Profile(name=name))], now)
    [created], _ = services.conversation_lists.page(owner(demo), {"status": "all"}, limit=1, cursor=None)
    assert created.contact_name == name
    if not changes:
        return created
    return ConversationWriter(services.transactions).save(created, dataclasses.replace(created, **changes))


def owner(demo) -> OperatorView:
    return person(demo, "owner@acme.example")


def names(services, viewer, **params) -> list[str]:
    items, _ = services.conversation_lists.page(viewer, {k: str(v) for k, v in params.items()}, limit=50, cursor=None)
    return [c.contact_name for c in items]


@pytest.fixture
def shop(world):
    """Ada waits unanswered on Telegram; Ben (widget, Billing) is Anna's, answered, SLA breached; Cy (VK) is
    Boris's with a bug, urgent, SLA due in 20 minutes and pending; Dee's Telegram conversation is resolved."""
    services, demo = world
    now = clock.now()
    ada = customer_writes(services, demo, "telegram", "Ada", tags=["vip"], priority="high")
    ben = customer_writes(services, demo, "widget", "Ben", assignee_id=person(demo, "anna@acme.example").operator_id,
                          team_id=team_id(demo, "Billing"), waiting_since=None,
                          sla_due_at=clock.iso(now - timedelta(minutes=5)))
    cy = customer_writes(services, demo, "vk", "Cy", assignee_id=person(demo, "boris@acme.example").operator_id,
                         tags=["bug"], priority="urgent", status=Status.PENDING,
                         sla_due_at=clock.iso(now + timedelta(minutes=20)))
    dee = customer_writes(services, demo, "telegram", "Dee", status=Status.RESOLVED)
    return services, demo, {"ada": ada, "ben": ben, "cy": cy, "dee": dee}


def test_each_filter_finds_exactly_its_conversations(shop):
    services, demo, _ = shop
    boss = owner(demo)
    anna, boris = person(demo, "anna@acme.example"), person(demo, "boris@acme.example")
    assert names(services, boss) == ["Ben", "Ada"]  # open, newest activity first
    assert names(services, boss, status="all") == ["Dee", "Cy", "Ben", "Ada"]
    assert names(services, boss, status="pending") == ["Cy"]
    assert names(services, boss, assignee="unassigned", status="all") == ["Dee", "Ada"]
    assert names(services, boss, assignee=anna.operator_id) == ["Ben"]
    assert names(services, anna, assignee="me") == ["Ben"]
    assert names(services, anna, assignee="mine_or_unassigned") == ["Ben", "Ada"]
    assert names(services, boss, team=team_id(demo, "Billing")) == ["Ben"]
    assert names(services, boss, inbox=inbox_id(demo, "vk"), status="all") == ["Cy"]
    assert names(services, boss, channel="telegram", status="all") == ["Dee", "Ada"]
    assert names(services, boss, tag="VIP") == ["Ada"]
    assert names(services, boss, untagged="true", status="all") == ["Dee", "Ben"]
    assert names(services, boss, unanswered="true", status="all") == ["Dee", "Cy", "Ada"]
    assert names(services, boss, priority="urgent", status="all") == ["Cy"]
    assert names(services, boss, tag="bug", priority="urgent", status="pending", assignee=boris.operator_id) == ["Cy"]
    assert names(services, boss, sla="breached", sort="sla_due", status="all") == ["Ben"]
    assert names(services, boss, sla_due_within=30, sort="sla_due", status="all") == ["Ben", "Cy"]
    assert names(services, boss, sort="longest_waiting", status="all") == ["Ada", "Cy", "Dee"]  # oldest wait first


def test_an_operator_sees_only_their_teams_inboxes_and_own_in_lists_and_counters(shop):
    services, demo, _ = shop
    boris = person(demo, "boris@acme.example")  # Billing; Cy (Support) is assigned to him
    assert names(services, boris, status="all") == ["Cy", "Ben"]
    assert names(services, boris, tag="vip", status="all") == []  # Ada is Support's
    assert names(services, boris, team=team_id(demo, "Support"), status="all") == ["Cy"]  # only what he may see
    counts = services.conversation_lists.counts(boris)
    assert (counts["all"], counts["mine"], counts["unassigned"], counts["unanswered"]) == (1, 0, 0, 0)
    assert counts["statuses"] == {"open": 1, "pending": 1, "snoozed": 0, "resolved": 0}
    assert services.conversation_lists.counts(boris, status="pending")["mine"] == 1
    anna = person(demo, "anna@acme.example")  # Support; Ben (Billing) is assigned to her
    counts = services.conversation_lists.counts(anna, tags=["vip", "bug"])
    assert (counts["all"], counts["mine"], counts["unassigned"], counts["mine_or_unassigned"]) == (2, 1, 1, 2)
    assert counts["tags"] == {"bug": 0, "vip": 1} and counts["priorities"]["high"] == 1
    assert counts["teams"] == {team_id(demo, "Support"): 1, team_id(demo, "Billing"): 1}
    boss = services.conversation_lists.counts(owner(demo))
    assert (boss["all"], boss["unassigned"], boss["sla"]) == (2, 1, 1)


def test_counters_follow_changes_live(shop):
    services, demo, found = shop
    anna = person(demo, "anna@acme.example")
    before = services.conversation_lists.counts(anna)
    services.conversation_service.assign(owner(demo), found["ada"].id, assignee_id=anna.operator_id)
    after = services.conversation_lists.counts(anna)
    assert (after["mine"], after["unassigned"]) == (before["mine"] + 1, before["unassigned"] - 1)
    services.conversation_service.resolve(anna, found["ada"].id)
    resolved = services.conversation_lists.counts(anna)
    assert resolved["all"] == before["all"] - 1
    assert resolved["statuses"]["resolved"] == before["statuses"]["resolved"] + 1


def test_pages_of_overlapping_partitions_repeat_nothing_and_miss_nothing(world):
    services, demo = world
    for n in range(7):
        customer_writes(services, demo, "telegram", f"T{n}")
    for n in range(3):
        customer_writes(services, demo, "widget", f"W{n}")
    anna = person(demo, "anna@acme.example")
    both = dataclasses.replace(anna, inbox_ids=frozenset({inbox_id(demo, "telegram")}))  # Support and Telegram
    seen, cursor = [], None
    while True:
        page, cursor = services.conversation_lists.page(both, {}, limit=3, cursor=cursor)
        seen += [c.contact_name for c in page]
        if cursor is None:
            break
    assert seen == [f"W{n}" for n in (2, 1, 0)] + [f"T{n}" for n in range(6, -1, -1)]


def test_a_page_reads_only_what_it_shows_and_one_more(world):
    services, demo = world
    for n in range(7):
        customer_writes(services, demo, "telegram", f"T{n}")
    services.conversation_lists.counts(owner(demo))  # the views have caught up with the stream
    client = CountingReads(boto3.client("dynamodb"))
    lists = ConversationLists(ViewStore(client, _views_table()), services.directory)
    page, cursor = lists.page(owner(demo), {}, limit=3, cursor=None)
    assert [c.contact_name for c in page] == ["T6", "T5", "T4"] and client.reads == [4]  # one more: "there is more"
    lists.page(owner(demo), {}, limit=3, cursor=cursor)
    assert client.reads == [4, 4]


class CountingReads:
    """A DynamoDB client that notes the ScannedCount of each Query (the items it read)."""

    def __init__(self, client: Any) -> None:
        self._client, self.reads = client, []

    def query(self, **kwargs: Any) -> Any:
        answer = self._client.query(**kwargs)
        self.reads.append(answer["ScannedCount"])
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_unknown_teams_inboxes_assignees_and_channels_are_bad_requests(world):
    services, demo = world
    for params, says in [({"team": "nope"}, "Unknown team"), ({"inbox": "nope"}, "Unknown inbox"),
                         ({"assignee": "nobody"}, "Unknown assignee"), ({"channel": "fax"}, "Unknown channel")]:
        with pytest.raises(BadRequest) as refused:
            services.conversation_lists.page(owner(demo), params, limit=5, cursor=None)
        assert says in refused.value.detail
    with pytest.raises(BadRequest):
        services.conversation_lists.counts(owner(demo), status="closed")


# ------------------------------------------------------------------ applying stream records exactly once
def synthetic(**fields: Any) -> Conversation:
    base = dict(tenant_id="t-replay", id="C1", inbox_id="I1", contact_id="k", channel="vk", status=Status.OPEN,
                team_id="T1", created_at="2026-07-20T10:00:00.000Z", last_activity_at="2026-07-20T10:00:00.000Z",
                waiting_since="2026-07-20T10:00:00.000Z")
    return Conversation(**{**base, **fields})


def admin() -> OperatorView:
    return OperatorView("t-replay", "root", "admin")


def stored_postings(tenant: str) -> set[tuple[str, str]]:
    """Every posting key of the tenant in the views table (a Scan, fine in a test)."""
    client, keys = boto3.client("dynamodb"), set()
    for page in client.get_paginator("scan").paginate(TableName=_views_table()):
        keys |= {(i["pk"]["S"], i["sk"]["S"]) for i in page["Items"]
                 if i["pk"]["S"].startswith(f"{tenant}#") and "#count#" not in i["pk"]["S"]
                 and "#applied#" not in i["pk"]["S"]}
    return keys


def expected_postings(conversation: Conversation) -> set[tuple[str, str]]:
    from switchboard.store.keys import posting_pk, posting_sk

    return {(posting_pk(conversation.tenant_id, p.facet, p.scope, p.status), posting_sk(p.sort, p.conversation_id))
            for p in postings(conversation)}


def _views_table() -> str:
    return next(name for name in boto3.client("dynamodb").list_tables()["TableNames"] if "Views" in name)


def test_a_replayed_or_late_record_changes_nothing(world):
    services, _ = world
    lists = services.conversation_lists
    opened = synthetic()
    answered = dataclasses.replace(opened, waiting_since=None, assignee_id="anna", version=2,
                                   last_activity_at="2026-07-20T10:05:00.000Z")
    first = Change("conversations", "INSERT", opened, None, {}, "100")
    second = Change("conversations", "MODIFY", answered, opened, {}, "200")
    for change in (first, second, second, first):  # a retried batch, then the old record again
        lists.project(change)
    counts = lists.counts(admin())
    assert (counts["all"], counts["unanswered"], counts["unassigned"]) == (1, 0, 0)
    assert stored_postings("t-replay") == expected_postings(answered)


def test_a_record_too_big_for_one_transaction_is_applied_whole_even_when_cut_short(world):
    services, _ = world
    crowded = synthetic(tags=[f"tag{n}" for n in range(20)], participants=[f"op{n}" for n in range(20)],
                        assignee_id="anna", sla_due_at="2026-07-20T11:00:00.000Z")
    change = Change("conversations", "INSERT", crowded, None, {}, "300")
    flaky = ViewStore(FailingOnce(boto3.client("dynamodb"), call=2), _views_table())
    with pytest.raises(ConnectionError):
        flaky.apply(diff(None, crowded), "300")  # the first transaction went through, the second did not
    services.conversation_lists.project(change)  # the retry resumes
    services.conversation_lists.project(change)  # and a third delivery changes nothing
    assert stored_postings("t-replay") == expected_postings(crowded)
    counts = services.conversation_lists.counts(admin(), tags=["tag3"])
    assert (counts["all"], counts["unanswered"], counts["sla"], counts["tags"]) == (1, 1, 1, {"tag3": 1})
    assert services.conversation_lists.counts(OperatorView("t-replay", "op7", "operator"))["all"] == 1  # follows it


class FailingOnce:
    """A DynamoDB client whose ``call``-th transaction fails as a dropped connection would."""

    def __init__(self, client: Any, call: int) -> None:
        self._client, self._call, self._calls = client, call, 0

    def transact_write_items(self, **kwargs: Any) -> Any:
        self._calls += 1
        if self._calls == self._call:
            raise ConnectionError("connection reset")
        return self._client.transact_write_items(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_tag_counters_use_the_normalized_tag(shop):
    services, demo, _ = shop
    counts = services.conversation_lists.counts(owner(demo), tags=[" VIP "])
    assert counts["tags"] == {"vip": 1}
