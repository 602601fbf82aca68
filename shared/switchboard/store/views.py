"""The views table: list postings, counter tallies and the guard that applies each stream record once.

Items (keys in store/keys.py):

- posting: pk ``{tenant}#{facet}#{scope}#{status}``, sk ``{time}#{conversation}``, ``row`` = the conversation as the
  list shows it (JSON), so a page is one Query per partition and no second read;
- tally: pk ``{tenant}#count#{facet}#{status}#{holder}``, sk ``count``, one number attribute per (team, inbox) cell
  (``c#{team}#{inbox}``; in an operator's tally also ``a#{team}#{inbox}``, those assigned to them); read with one
  BatchGetItem of known keys;
- applied: pk ``{tenant}#applied#{conversation}``, sk ``applied``, ``progress`` = the stream sequence number of the
  last record applied and how many of its transactions are done.

A stream record's diff is written in transactions of at most 100 actions; each carries a conditional update of the
``applied`` item, so a record delivered again (Lambda retries a whole batch, or bisects it) or an older record
arriving after a newer one changes nothing, and a record cut short between two transactions resumes where it
stopped. Counter ``ADD``s ride in the same transactions as the postings, so they are never counted twice.

Only base-table Queries and BatchGetItem: no index, no Scan.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ..domain.conversation import Conversation, Status
from ..domain.errors import BadRequest
from ..domain.filters import Cell, ListPlan, Posting, PostingDiff, Source, Tallies, TallyKey
from .keys import applied_pk, posting_pk, posting_sk, tally_pk
from .pages import Source as PageSource
from .pages import decode_cursor, encode_cursor, merge_pages

MAX_ACTIONS = 100  # DynamoDB's limit for one TransactWriteItems
MAX_BATCH_GET = 100
CONFLICT_RETRIES = 6
SEQUENCE_DIGITS = 40  # stream sequence numbers are decimal strings of up to 40 digits
_AFTER_ANY_ID = "~"  # sorts after every conversation id (ULIDs are [0-9A-Z])
_PREFETCH = ThreadPoolExecutor(max_workers=8, thread_name_prefix="views")  # a page's first Queries, in parallel


@dataclass(frozen=True)
class Row:
    """A posting as read: its key, and the conversation it projects."""

    pk: str
    sk: str
    conversation: Conversation


class ViewStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # ------------------------------------------------------------ writing: one stream record's diff
    def apply(self, change: PostingDiff, sequence: str) -> None:
        """Write ``change`` once, whatever number of times the record that produced it is delivered."""
        if change.empty:
            return
        if not sequence.isdigit():
            raise ValueError("a stream record's sequence number is needed to apply it exactly once")
        actions = self._counter_actions(change) + self._posting_actions(change)
        per_transaction = MAX_ACTIONS - 1  # and the guard
        chunks = [actions[i:i + per_transaction] for i in range(0, len(actions), per_transaction)]
        for step, chunk in enumerate(chunks):
            self._commit(chunk + [self._guard(change, sequence.zfill(SEQUENCE_DIGITS), step)])

    def _posting_actions(self, change: PostingDiff) -> list[dict]:
        row = row_json(change.row) if change.row is not None else ""
        actions = [{"Delete": {"TableName": self._table, "Key": _posting_key(change.tenant_id, posting)}}
                   for posting in change.deletes]
        actions += [{"Put": {"TableName": self._table, "Item": posting_item(change.tenant_id, posting, row)}}
                    for posting in change.puts]
        return actions

    def _counter_actions(self, change: PostingDiff) -> list[dict]:
        actions = []
        for key, cells in change.counts.items():
            names = {f"#c{n}": _attribute(cell) for n, cell in enumerate(cells)}
            values = {f":c{n}": {"N": str(delta)} for n, delta in enumerate(cells.values())}
            actions.append({"Update": {
                "TableName": self._table, "Key": _tally_key(change.tenant_id, key),
                "UpdateExpression": "ADD " + ", ".join(f"{name} {name.replace('#', ':')}" for name in names),
                "ExpressionAttributeNames": names, "ExpressionAttributeValues": values,
            }})
        return actions

    def _guard(self, change: PostingDiff, sequence: str, step: int) -> dict:
        """The applied item moves from step to step + 1 of this record; only from there."""
        if step == 0:  # a fresh record: nothing of it, nor of anything later, applied yet
            condition, values = "attribute_not_exists(progress) OR progress < :at", {":at": f"{sequence}#0000"}
        else:
            condition, values = "progress = :at", {":at": f"{sequence}#{step:04d}"}
        return {"Update": {
            "TableName": self._table,
            "Key": {"pk": {"S": applied_pk(change.tenant_id, change.conversation_id)}, "sk": {"S": "applied"}},
            "UpdateExpression": "SET progress = :next", "ConditionExpression": condition,
            "ExpressionAttributeValues": {**{k: {"S": v} for k, v in values.items()},
                                          ":next": {"S": f"{sequence}#{step + 1:04d}"}},
        }}

    def _commit(self, actions: list[dict]) -> None:
        """One transaction; quietly nothing when the guard says it is applied already. Conflicts with concurrent
        transactions on the same counters are retried with jittered back-off."""
        for attempt in range(CONFLICT_RETRIES):
            try:
                self._client.transact_write_items(TransactItems=actions)
                return
            except ClientError as error:
                reasons = [reason.get("Code") for reason in error.response.get("CancellationReasons", [])]
                if error.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                if reasons and reasons[-1] == "ConditionalCheckFailed":
                    return  # the guard: this step of this record (or a later record) is applied already
                if "TransactionConflict" not in reasons or attempt == CONFLICT_RETRIES - 1:
                    raise
                time.sleep(random.uniform(0, 0.02 * 2 ** attempt))

    # ------------------------------------------------------------ reading: list pages
    def page(self, tenant_id: str, plan: ListPlan, *, limit: int, cursor: str | None,
             keep: Callable[[Conversation], bool],
             sizes: Mapping[Source, int] | None = None) -> tuple[list[Conversation], str | None]:
        """One page of the merged partitions of ``plan``, rows passing ``keep``, each conversation once.

        The first Query of every partition goes out at once (an operator's list merges several), each asking for
        about its share of the page (``sizes``: how many wanted rows each holds, when known), so a page costs about
        one round trip, plus a refill when a guess was short.
        """
        budget, state = _Budget(limit, plan.sources, sizes or {}), decode_cursor(cursor)
        sources = [self._source(tenant_id, source, plan.ascending, budget, state) for source in plan.sources]
        rows, state = merge_pages(sources, limit=limit, cursor=state, sort_key=lambda row: row.sk,
                                  item_id=lambda row: row.conversation.id, keep=lambda row: keep(row.conversation),
                                  ascending=plan.ascending)
        return [row.conversation for row in rows], encode_cursor(state)

    def _source(self, tenant_id: str, source: Source, ascending: bool, budget: _Budget, state: Any) -> PageSource:
        pk, name = posting_pk(tenant_id, source.facet, source.scope, source.status), _source_name(source)
        start = state.get(name) or None if isinstance(state, dict) else None
        query = self._query(pk, source, ascending)
        first = None
        if start != "done" and (start is None or _resumes(start, pk)):  # else the merge refuses the cursor
            first = _PREFETCH.submit(self._client.query, **query, Limit=budget.first_page(source),
                                     **({"ExclusiveStartKey": start} if start else {}))
        return PageSource(name=name, run=lambda start, _limit: self._rows(pk, query, budget, start, first),
                          start_key=lambda row: {"pk": {"S": row.pk}, "sk": {"S": row.sk}})

    def _query(self, pk: str, source: Source, ascending: bool) -> dict[str, Any]:
        query: dict[str, Any] = {"TableName": self._table, "ScanIndexForward": ascending,
                                 "KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": {"S": pk}}}
        if source.below is not None:
            query["KeyConditionExpression"] += " AND sk < :below"
            query["ExpressionAttributeValues"][":below"] = {"S": posting_sk(source.below, _AFTER_ANY_ID)}
        return query

    def _rows(self, pk: str, query: dict[str, Any], budget: _Budget, start: Any,
              first: Future | None) -> Iterator[Row]:
        """The partition's rows in order from ``start``, fetched a page at a time as the merge consumes them."""
        if start is not None and not _resumes(start, pk):
            raise BadRequest("The cursor is not valid for this list; start again from the first page.")
        query = {**query, **({"ExclusiveStartKey": start} if start is not None else {})}
        while True:
            answer = first.result() if first is not None else self._client.query(**query, Limit=budget.refill())
            first = None
            for item in answer.get("Items", []):
                budget.taken += 1
                yield Row(item["pk"]["S"], item["sk"]["S"], _conversation(item["row"]["S"]))
            if "LastEvaluatedKey" not in answer:
                return
            query["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    # ------------------------------------------------------------ reading: counters
    def tallies(self, tenant_id: str, keys: list[TallyKey]) -> Tallies:
        """The cells of each tally (absent ones are empty), by BatchGetItem of their known keys."""
        by_pk = {tally_pk(tenant_id, key.facet, key.status, key.holder): key for key in keys}
        found: Tallies = {key: {} for key in keys}
        pending = [{"pk": {"S": pk}, "sk": {"S": "count"}} for pk in by_pk]
        while pending:
            batch, pending = pending[:MAX_BATCH_GET], pending[MAX_BATCH_GET:]
            answer = self._client.batch_get_item(RequestItems={self._table: {"Keys": batch}})
            for item in answer.get("Responses", {}).get(self._table, []):
                found[by_pk[item["pk"]["S"]]] = _cells(item)
            unprocessed = answer.get("UnprocessedKeys", {}).get(self._table, {}).get("Keys", [])
            if unprocessed:  # throttled: DynamoDB hands these back to ask again a moment later
                time.sleep(random.uniform(0.01, 0.05))
                pending += unprocessed
        return found


class _Budget:
    """How much each Query of one page asks for, so that what is read and not shown stays small.

    A page of ``limit`` merged from k partitions first asks each for its share of limit + 1 (the one more tells
    whether a next page exists): in proportion to the partitions' sizes when the tallies gave them, and never more
    than a partition holds (plus one, so that a partition read whole needs no second Query); otherwise an even
    share. A partition that runs dry asks for half of what the page still lacks.
    """

    def __init__(self, limit: int, sources: tuple[Source, ...], sizes: Mapping[Source, int]) -> None:
        self.limit, self.sources, self.taken = limit, max(len(sources), 1), 0  # taken: rows handed to the merge
        self.sizes = {source: sizes[source] for source in sources if source in sizes}
        self.sized = sum(self.sizes.values())
        self.unsized = self.sources - len(self.sizes)

    def first_page(self, source: Source) -> int:
        even = math.ceil((self.limit + 1) / self.sources)
        if source not in self.sizes:
            return even
        size = self.sizes[source]
        if not self.sized:
            return 1
        share = (self.limit + 1) * (self.sources - self.unsized) / self.sources * size / self.sized
        return max(1, min(size + 1, math.ceil(share) + 1, 100))

    def refill(self) -> int:
        lacking = self.limit + self.sources - self.taken  # the page's missing rows, and each source's next head
        return max(2, min(100, math.ceil(lacking / 2)))


# ------------------------------------------------------------ items (also what a bulk load writes: tests/bench)
def posting_item(tenant_id: str, posting: Posting, row: str) -> dict:
    """A posting as stored; ``row`` is ``row_json`` of its conversation."""
    return {**_posting_key(tenant_id, posting), "row": {"S": row}}


def tally_item(tenant_id: str, key: TallyKey, cells: Mapping[Cell, int]) -> dict:
    """A counter item holding ``cells`` (the stream only ever ADDs to these)."""
    return {**_tally_key(tenant_id, key), **{_attribute(cell): {"N": str(n)} for cell, n in cells.items()}}


def row_json(conversation: Conversation) -> str:
    """What a posting projects: the conversation as the list shows it (its fields are JSON values already, so no
    deep copy as ``dataclasses.asdict`` makes)."""
    return json.dumps({name: getattr(conversation, name) for name in _FIELD_NAMES}, separators=(",", ":"))


def _posting_key(tenant_id: str, posting: Posting) -> dict:
    return {"pk": {"S": posting_pk(tenant_id, posting.facet, posting.scope, posting.status)},
            "sk": {"S": posting_sk(posting.sort, posting.conversation_id)}}


def _tally_key(tenant_id: str, key: TallyKey) -> dict:
    return {"pk": {"S": tally_pk(tenant_id, key.facet, key.status, key.holder)}, "sk": {"S": "count"}}


def _source_name(source: Source) -> str:
    """The source's name in cursors: without the tenant, which the cursor's keys carry anyway."""
    return f"{source.facet}#{source.scope}#{source.status}"


def _resumes(start: Any, pk: str) -> bool:
    """A cursor may only resume the partition it came from, with a well-formed key."""
    return (isinstance(start, dict) and set(start) == {"pk", "sk"} and start["pk"] == {"S": pk}
            and isinstance(start["sk"], dict) and set(start["sk"]) == {"S"} and isinstance(start["sk"]["S"], str))


_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(Conversation))
_FIELDS = set(_FIELD_NAMES)


def _conversation(text: str) -> Conversation:
    data = {name: value for name, value in json.loads(text).items() if name in _FIELDS}
    data["status"] = Status(data["status"])
    return Conversation(**data)


def _attribute(cell: Cell) -> str:
    return "#".join(cell)  # "c#{team}#{inbox}" or "a#{team}#{inbox}"


def _cells(item: dict) -> dict[Cell, int]:
    cells: dict[Cell, int] = {}
    for name, value in item.items():
        parts = name.split("#")
        if len(parts) == 3 and "N" in value:
            cells[(parts[0], parts[1], parts[2])] = int(value["N"])
    return cells
