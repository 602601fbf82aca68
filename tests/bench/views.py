"""List views and counters of one tenant at 10,000 and then 100,000 conversations (5 % open, 40 operators, 6 teams):
items read per item returned, and p50/p95 time of the service call the API makes, against the local stack's moto.

The tenant is filled in bulk, straight into the embedded tables (the stream would take too long for 100,000), with
the same pure code the stream consumer runs: domain/filters.py's postings and tallies, store/views.py's items.
Items read = the ScannedCount of every Query plus every key a BatchGetItem asks for (views table; the directory is
cached per warm Lambda). Printed for the record, never asserted.
"""

from __future__ import annotations

import gc
import json
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the layer is put on the path when the stack starts, so switchboard is imported late
    from switchboard.domain.conversation import Conversation, OperatorView
    from switchboard.domain.directory import Inbox, Operator, Team, Tenant

SIZES = (10_000, 100_000)
OPERATORS, TEAMS = 40, 6
CHANNELS = ("telegram", "whatsapp", "email", "widget", "vk")
TAGS = ("billing", "refund", "delivery", "bug", "vip", "complaint", "feature", "spam")
PRIORITIES = (("low", 10), ("normal", 65), ("high", 18), ("urgent", 7))
WARMUP, REPEATS, LIMIT, CHUNK = 3, 20, 25, 5_000


@dataclass
class Workspace:
    tenant: Tenant
    teams: list[Team]
    inboxes: list[Inbox]
    operators: list[Operator]
    counted: Counter = field(default_factory=Counter)  # every tally, summed over the conversations so far
    size: int = 0

    def view(self, operator: Operator) -> OperatorView:
        from switchboard.domain.conversation import OperatorView

        return OperatorView(operator.tenant_id, operator.id, operator.role, frozenset(operator.team_ids),
                            frozenset(operator.inbox_ids), operator.name)


def create_workspace(directory: Any) -> Workspace:
    from switchboard.domain.directory import Inbox, Operator, Team, Tenant
    from switchboard.domain.ids import ulid

    tenant = Tenant(ulid(), "Bench Store")
    directory.put_tenant(tenant)
    teams = [Team(tenant.id, ulid(), f"Team {n}") for n in range(TEAMS)]
    inboxes = [Inbox(tenant.id, ulid(), channel, f"Bench {channel}", default_team_id=teams[n % TEAMS].id)
               for n, channel in enumerate(CHANNELS)]
    operators = []
    for n in range(OPERATORS):
        role = "owner" if n == 0 else "admin" if n == 1 else "supervisor" if n < 4 else "operator"
        member_of = [teams[n % TEAMS].id] + ([teams[(n + 1) % TEAMS].id] if n % 4 == 0 else [])
        operators.append(Operator(tenant.id, ulid(), f"op{n:02d}@bench.example", f"Operator {n:02d}", role,
                                  team_ids=member_of, inbox_ids=[inboxes[n % len(inboxes)].id] if n % 6 == 0 else []))
    for item in (*teams, *inboxes):
        (directory.put_team if isinstance(item, Team) else directory.put_inbox)(item)
    for operator in operators:
        directory.put_operator(operator)
    return Workspace(tenant, teams, inboxes, operators)


def conversation(n: int, rng: random.Random, ws: Workspace, now: datetime) -> Conversation:
    """Conversation ``n``: 5 % open (recent), 2 % pending, 1 % snoozed, the rest resolved over three months."""
    from switchboard.domain import clock
    from switchboard.domain.conversation import Conversation, Status
    from switchboard.domain.ids import ulid

    roll = rng.random()
    status = Status.OPEN if roll < 0.05 else Status.PENDING if roll < 0.07 else Status.SNOOZED if roll < 0.08 \
        else Status.RESOLVED
    age = timedelta(minutes=rng.uniform(0, 3 * 24 * 60 if status is not Status.RESOLVED else 90 * 24 * 60))
    created = now - age
    activity = min(now, created + timedelta(minutes=rng.uniform(0, 600)))
    inbox = rng.choice(ws.inboxes)
    team_id = inbox.default_team_id if rng.random() < 0.7 else rng.choice(ws.teams).id
    members = [o.id for o in ws.operators if team_id in o.team_ids] or [ws.operators[0].id]
    unassigned = rng.random() < (0.35 if status is Status.OPEN else 0.05)
    waiting = rng.random() < (0.6 if status is Status.OPEN else 0.02 if status is Status.RESOLVED else 0)
    waiting_since = activity - timedelta(minutes=rng.uniform(0, 120)) if waiting else None
    return Conversation(
        tenant_id=ws.tenant.id, id=ulid(int(created.timestamp() * 1000)), inbox_id=inbox.id, contact_id=ulid(),
        channel=inbox.channel, status=status, assignee_id=None if unassigned else rng.choice(members),
        team_id=team_id, created_at=clock.iso(created), last_activity_at=clock.iso(activity),
        last_message={"type": "incoming", "text": f"Question number {n} about my order", "at": clock.iso(activity)},
        unread_count=rng.randint(1, 3) if waiting else 0,
        waiting_since=clock.iso(waiting_since) if waiting_since else None,
        priority=rng.choices([p for p, _ in PRIORITIES], [w for _, w in PRIORITIES])[0],
        contact_name=f"Customer {n}", source_id=str(10_000_000 + n),
        tags=rng.sample(TAGS, rng.choice((0, 0, 0, 1, 1, 1, 1, 1, 2, 2))),
        participants=[rng.choice(ws.operators).id] if rng.random() < 0.03 else [],
        sla_due_at=clock.iso(waiting_since + timedelta(hours=2)) if waiting_since and status is Status.OPEN else None,
    )


def grow(ws: Workspace, size: int, tables: dict[str, str]) -> float:
    """Add conversations up to ``size``: their items, postings and (rewritten) counter tallies. Seconds taken."""
    from infra.devstack.moto_internals import bulk_load
    from switchboard.domain import clock
    from switchboard.domain.filters import postings, tallies
    from switchboard.store.views import posting_item, row_json, tally_item

    started, rng, now = time.monotonic(), random.Random(size), clock.now()
    while ws.size < size:
        batch = [conversation(n, rng, ws, now) for n in range(ws.size, min(size, ws.size + CHUNK))]
        bulk_load(tables["conversations"], [conversation_item(c) for c in batch])
        items = []
        for item in batch:
            row = row_json(item)
            items += [posting_item(ws.tenant.id, posting, row) for posting in postings(item)]
            ws.counted.update(tallies(item))
        bulk_load(tables["views"], items)
        ws.size += len(batch)
    cells: dict[Any, dict] = {}
    for (key, cell), count in ws.counted.items():
        cells.setdefault(key, {})[cell] = count
    bulk_load(tables["views"], [tally_item(ws.tenant.id, key, counts) for key, counts in cells.items()])
    return time.monotonic() - started


def conversation_item(c: Conversation) -> dict:
    """The Conversations table item, as ingest writes it (spelled out: PynamoDB's serializer would double the fill)."""
    from switchboard.store.keys import conversation_index_keys
    from switchboard.store.models import UNASSIGNED

    keys = conversation_index_keys(
        tenant_id=c.tenant_id, conversation_id=c.id, status=str(c.status), assignee_id=c.assignee_id,
        team_id=c.team_id, inbox_id=c.inbox_id, contact_id=c.contact_id, activity_at=c.last_activity_at)
    text = {"tenant_id": c.tenant_id, "conversation_id": c.id, "inbox_id": c.inbox_id, "contact_id": c.contact_id,
            "channel": c.channel, "status": str(c.status), "assignee_id": c.assignee_id or UNASSIGNED,
            "team_id": c.team_id or UNASSIGNED, "created_at": c.created_at, "last_activity_at": c.last_activity_at,
            "last_message": json.dumps(c.last_message), "waiting_since": c.waiting_since, "priority": c.priority,
            "contact_name": c.contact_name, "source_id": c.source_id, "sla_due_at": c.sla_due_at, **keys}
    return {**{name: {"S": value} for name, value in text.items() if value is not None},
            "version": {"N": "1"}, "unread_count": {"N": str(c.unread_count)}, "snooze_version": {"N": "0"},
            **{name: {"L": [{"S": v} for v in getattr(c, name)]} for name in ("tags", "participants", "reasons",
                                                                                "components")}}


class Metered:
    """The views' DynamoDB client, counting requests and items read: each Query's ScannedCount, each key a
    BatchGetItem asks for."""

    def __init__(self, client: Any) -> None:
        self._client, self.items, self.calls = client, 0, 0

    def query(self, **kwargs: Any) -> Any:
        answer = self._client.query(**kwargs)
        self.items += answer["ScannedCount"]
        self.calls += 1
        return answer

    def batch_get_item(self, **kwargs: Any) -> Any:
        self.items += sum(len(request["Keys"]) for request in kwargs["RequestItems"].values())
        self.calls += 1
        return self._client.batch_get_item(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def views(ws: Workspace) -> list[tuple[str, OperatorView, dict[str, str] | None]]:
    """(label, viewer, list parameters; None for the counters)."""
    owner = ws.view(ws.operators[0])
    agent = ws.view(ws.operators[12])  # two teams and an inbox: the most partitions an operator merges
    single = ws.view(ws.operators[7])  # one team
    return [
        ("mine", agent, {"assignee": "me"}),
        ("unassigned", agent, {"assignee": "unassigned"}),
        ("mine + unassigned", agent, {"assignee": "mine_or_unassigned"}),
        ("all, admin", owner, {}),
        ("all, operator (2 teams + inbox)", agent, {}),
        ("all, operator (1 team)", single, {}),
        ("team", single, {"team": sorted(single.team_ids)[0]}),
        ("inbox, admin", owner, {"inbox": ws.inboxes[1].id}),
        ("unanswered", agent, {"unanswered": "true"}),
        ("longest waiting", agent, {"sort": "longest_waiting"}),
        ("tag, admin", owner, {"tag": "refund"}),
        ("tag, operator", agent, {"tag": "refund"}),
        ("without tag", agent, {"untagged": "true"}),
        ("priority urgent", owner, {"priority": "urgent"}),
        ("SLA due within 60 min", owner, {"sort": "sla_due", "sla_due_within": "60"}),
        ("SLA breached, operator", agent, {"sort": "sla_due", "sla": "breached"}),
        ("resolved, admin", owner, {"status": "resolved"}),
        ("counters, admin", owner, None),
        ("counters, operator", agent, None),
    ]


def measure(call: Callable[[], int], meter: Metered) -> dict[str, float]:
    for _ in range(WARMUP):
        call()
    timings, reads, returned = [], [], 0
    for _ in range(REPEATS):
        meter.items = meter.calls = 0
        start = time.perf_counter()
        returned = call()
        timings.append(time.perf_counter() - start)
        reads.append(meter.items)
    timings.sort()
    return {"returned": returned, "read": max(reads), "calls": meter.calls,
            "p50_ms": statistics.median(timings) * 1000, "p95_ms": timings[int(len(timings) * 0.95) - 1] * 1000}


def numbers(value: Any) -> int:
    """How many numbers a counters answer holds."""
    if isinstance(value, dict):
        return sum(numbers(v) for v in value.values())
    return 1 if isinstance(value, int) else 0


def measure_all(ws: Workspace, lists: Any, meter: Metered) -> dict[str, dict[str, float]]:
    results = {}
    for label, viewer, params in views(ws):
        if params is None:
            results[label] = measure(lambda viewer=viewer: numbers(lists.counts(viewer)), meter)
        else:
            results[label] = measure(
                lambda viewer=viewer, params=params: len(lists.page(viewer, params, limit=LIMIT, cursor=None)[0]),
                meter)
    return results


def report(results: dict[int, dict[str, dict[str, float]]]) -> None:
    sizes = sorted(results)
    head = "  ".join(f"{f'{size:,} conversations':^42}" for size in sizes)
    print(f"  {'':<32}  {head}")
    print(f"  {'view':<32}  " + "  ".join(
        f"{'returned':>8} {'read':>5} {'ratio':>5} {'calls':>5} {'p50 ms':>7} {'p95 ms':>7}" for _ in sizes))
    for label in results[sizes[0]]:
        cells = []
        for size in sizes:
            r = results[size][label]
            ratio = f"{r['read'] / r['returned']:.2f}" if r["returned"] else "-"
            cells.append(f"{r['returned']:>8} {r['read']:>5} {ratio:>5} {r['calls']:>5} {r['p50_ms']:>7.1f} "
                         f"{r['p95_ms']:>7.1f}")
        print(f"  {label:<32}  " + "  ".join(cells))


def run(stack: Any) -> dict[int, dict[str, dict[str, float]]]:
    import boto3

    from switchboard.services.lists import ConversationLists
    from switchboard.store.views import ViewStore
    from switchboard.wiring import services

    tables = {"conversations": stack.outputs["ConversationsTableName"], "views": stack.outputs["ViewsTableName"]}
    ws = create_workspace(services().directory)
    meter = Metered(boto3.client("dynamodb"))
    lists = ConversationLists(ViewStore(meter, tables["views"]), services().directory)
    results = {}
    print(f"list views and counters, one tenant ({OPERATORS} operators, {TEAMS} teams, {len(CHANNELS)} inboxes, "
          f"5 % open); first page of {LIMIT}, {REPEATS} runs each")
    for size in SIZES:
        seconds = grow(ws, size, tables)
        print(f"  filled to {size:,} conversations in {seconds:.0f} s")
        # In AWS these items live in DynamoDB, not in the reader's heap: keep the garbage collector from walking
        # the embedded tables' millions of objects during the measurements.
        gc.collect()
        gc.freeze()
        results[size] = measure_all(ws, lists, meter)
    report(results)
    return results


if __name__ == "__main__":
    import logging
    import os
    import tempfile
    from pathlib import Path

    from infra.devstack.stack import LocalStack

    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    logging.disable(logging.INFO)
    local = LocalStack().start(gateway_port=0, seed=False, state_file=Path(tempfile.mkdtemp()) / "stack.json")
    try:
        local.pumps.stop()
        run(local)
    finally:
        local.stop()
