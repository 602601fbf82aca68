"""Base-table Queries for the embedded moto in O(log n + k).

moto answers every Query by sorting every item of the table and walking them, so a list view's time grows with the
whole table (100,000 conversations' postings made one page cost seconds). Here each partition keeps its range keys in
DynamoDB's order next to its items; a Query bisects to the key condition and to ``ExclusiveStartKey`` and reads only
the items it returns. What a caller sees stays DynamoDB's: ``Limit`` counts items evaluated (before the
FilterExpression), ``ScannedCount`` counts them too, ``LastEvaluatedKey`` is the last item evaluated whenever the
limit (or the 1 MB page size) stops the read, ``ScanIndexForward=False`` walks backwards. Index queries, legacy
``QueryFilter`` and multi-attribute keys keep moto's own implementation.

Installed by ``moto_internals.make_dynamodb_queries_indexed``.
"""

from __future__ import annotations

import base64
import copy
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

_COMPARISONS = {"=", "<", "<=", ">", ">=", "BETWEEN", "BEGINS_WITH"}


def native(key: Any) -> Any:
    """A range key (moto's DynamoType) as a Python value that sorts as DynamoDB sorts it: strings by code point (the
    order of their UTF-8 bytes), numbers by value, binary by bytes."""
    if key.type == "N":
        return Decimal(key.value)
    if key.type == "B":
        return key.value if isinstance(key.value, bytes) else base64.b64decode(key.value)
    return key.value


class SortedPartition(dict):
    """One partition's items (range key -> item) that also keeps its range keys sorted.

    It stands in for the plain dict moto keeps per hash key, so moto's own writes (``items[h][r] = item``,
    ``items[h].pop(r)``) keep the order current; the sorted keys cost one insort per new key.
    """

    def __init__(self, items: Iterable[tuple[Any, Any]] | dict = ()) -> None:
        super().__init__(items)
        self.by_native = {native(key): key for key in dict.keys(self)}
        self.order = sorted(self.by_native)

    def __setitem__(self, key: Any, value: Any) -> None:
        if not dict.__contains__(self, key):
            value_of_key = native(key)
            insort(self.order, value_of_key)
            self.by_native[value_of_key] = key
        dict.__setitem__(self, key, value)

    def __delitem__(self, key: Any) -> None:
        dict.__delitem__(self, key)
        self._forget(key)

    def pop(self, key: Any, *default: Any) -> Any:
        if dict.__contains__(self, key):
            self._forget(key)
        return dict.pop(self, key, *default)

    def popitem(self) -> tuple[Any, Any]:
        key, value = dict.popitem(self)
        self._forget(key)
        return key, value

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if not dict.__contains__(self, key):
            self[key] = default
        return dict.__getitem__(self, key)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def clear(self) -> None:
        dict.clear(self)
        self.by_native.clear()
        self.order.clear()

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.__class__, (dict(self),))

    def __deepcopy__(self, memo: dict[int, Any]) -> SortedPartition:
        return self.__class__({copy.deepcopy(k, memo): copy.deepcopy(v, memo) for k, v in dict.items(self)})

    def item_at(self, position: int) -> Any:
        return dict.__getitem__(self, self.by_native[self.order[position]])

    def _forget(self, key: Any) -> None:
        value_of_key = native(key)
        del self.by_native[value_of_key]
        del self.order[bisect_left(self.order, value_of_key)]


def indexable(table: Any, hash_key: Any, index_name: str | None, hash_key_conditions: list | None,
              range_key_conditions: list | None, filter_kwargs: dict, range_comparison: str | None) -> bool:
    """Whether this Query is one the sorted partitions answer (the others go to moto's own implementation)."""
    return (
        index_name is None and hash_key is not None and table.range_key_attr is not None and not filter_kwargs
        and len(hash_key_conditions or []) <= 1 and len(range_key_conditions or []) <= 1
        and (range_comparison is None or range_comparison in _COMPARISONS)
    )


def sorted_partition(table: Any, hash_key: Any) -> SortedPartition | None:
    """The partition's items, turned into a SortedPartition on first use (moto creates plain dicts)."""
    partition = table.items.get(hash_key)
    if partition is None:
        return None
    if not isinstance(partition, SortedPartition):
        partition = table.items[hash_key] = SortedPartition(partition)
    return partition


def query(table: Any, hash_key: Any, range_comparison: str | None, range_objs: list[Any], limit: int | None,
          exclusive_start_key: dict[str, Any] | None, scan_index_forward: bool,
          projection_expressions: list[list[str]] | None, filter_expression: Any,
          size_limit: int) -> tuple[list[Any], int, dict[str, Any] | None]:
    """(items after the filter, items evaluated, LastEvaluatedKey), as moto's Table.query returns them."""
    partition = sorted_partition(table, hash_key)
    if not partition:
        return [], 0, None
    low, high = _window(partition.order, range_comparison, [native(value) for value in range_objs])
    if exclusive_start_key is not None:
        from moto.dynamodb.models.dynamo_type import DynamoType

        start = native(DynamoType(exclusive_start_key[table.range_key_attr]))
        if scan_index_forward:
            low = max(low, bisect_right(partition.order, start))
        else:
            high = min(high, bisect_left(partition.order, start))
    positions = range(low, high) if scan_index_forward else range(high - 1, low - 1, -1)
    evaluated, stopped = _evaluate(partition.item_at, positions, limit, size_limit)
    results = [copy.deepcopy(item) for item in evaluated]
    if filter_expression is not None:
        results = [item for item in results if filter_expression.expr(item)]
    if projection_expressions:
        results = [item.project(projection_expressions) for item in results]
    last_key = table._get_last_evaluated_key(evaluated[-1], None) if stopped and evaluated else None
    return results, len(evaluated), last_key


def _evaluate(item_at: Callable[[int], Any], positions: range, limit: int | None,
              size_limit: int) -> tuple[list[Any], bool]:
    """The items a Query reads: up to ``limit`` of them and up to ``size_limit`` bytes; True if either stopped it."""
    evaluated: list[Any] = []
    size = 0
    for position in positions:
        if limit is not None and len(evaluated) == limit:
            return evaluated, True
        item = item_at(position)
        size += item.size()
        if size > size_limit and evaluated:
            return evaluated, True
        evaluated.append(item)
    return evaluated, limit is not None and len(evaluated) == limit


def _window(order: list[Any], comparison: str | None, values: list[Any]) -> tuple[int, int]:
    """[low, high) of the sorted range keys that satisfy the key condition on the range key."""
    if comparison is None:
        return 0, len(order)
    first = values[0]
    if comparison == "=":
        return bisect_left(order, first), bisect_right(order, first)
    if comparison == "<":
        return 0, bisect_left(order, first)
    if comparison == "<=":
        return 0, bisect_right(order, first)
    if comparison == ">":
        return bisect_right(order, first), len(order)
    if comparison == ">=":
        return bisect_left(order, first), len(order)
    if comparison == "BETWEEN":
        return bisect_left(order, first), max(bisect_left(order, first), bisect_right(order, values[1]))
    low = bisect_left(order, first)  # BEGINS_WITH: every key from the prefix up to the prefix's successor
    successor = _successor(first)
    return low, len(order) if successor is None else bisect_left(order, successor)


def _successor(prefix: str | bytes) -> str | bytes | None:
    """The smallest value greater than every value that starts with ``prefix`` (None: there is none)."""
    if isinstance(prefix, bytes):
        trimmed = prefix.rstrip(b"\xff")
        return trimmed[:-1] + bytes([trimmed[-1] + 1]) if trimmed else None
    trimmed = prefix.rstrip("\U0010ffff")
    return trimmed[:-1] + chr(ord(trimmed[-1]) + 1) if trimmed else None
