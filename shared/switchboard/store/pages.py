"""Opaque cursors and the k-way merge of several index queries into one page, newest first."""

from __future__ import annotations

import base64
import heapq
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..domain.errors import BadRequest


def encode_cursor(state: Any) -> str | None:
    if state is None:
        return None
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Any:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("The cursor is not valid; start again from the first page.") from exc


@dataclass(frozen=True)
class Source:
    """One index query: ``run(start_key, limit)`` yields items in descending sort order."""

    name: str
    run: Callable[[dict | None, int], Iterator[Any]]
    start_key: Callable[[Any], dict]


def merge_pages(
    sources: list[Source], *, limit: int, cursor: dict | None, sort_key: Callable[[Any], str],
    item_id: Callable[[Any], str], keep: Callable[[Any], bool] = lambda _: True, ascending: bool = False,
) -> tuple[list[Any], dict | None]:
    """Merge sources newest-first (``ascending``: oldest first) into one page of at most ``limit`` distinct items.

    The cursor remembers, per source, the key of the last item taken from it (or that it is exhausted), so the next
    page resumes each query exactly where this one stopped. An item that several sources hold sorts the same in
    each, so its copies are adjacent: the page takes one, and a copy left at the head of another source when the page
    fills is taken along with it, so the next page cannot show it again.
    """
    cursor = cursor or {}
    if not isinstance(cursor, dict) or not set(cursor) <= {source.name for source in sources}:
        raise BadRequest("The cursor does not belong to this list; start again from the first page.")
    heads: list[tuple[str, int, Any, Iterator[Any]]] = []
    order = (lambda item: sort_key(item)) if ascending else (lambda item: _descending(sort_key(item)))
    for index, source in enumerate(sources):
        state = cursor.get(source.name, {})
        if state == "done":
            continue
        iterator = source.run(state or None, limit)
        _push(heads, index, iterator, order)
    page: list[Any] = []
    seen: set[str] = set()
    last_taken: dict[str, Any] = {}
    while heads and (len(page) < limit or item_id(heads[0][2]) in seen):
        _, index, item, iterator = heapq.heappop(heads)
        last_taken[sources[index].name] = item
        if item_id(item) not in seen and keep(item):
            seen.add(item_id(item))
            page.append(item)
        _push(heads, index, iterator, order)
    if not heads:
        return page, None
    next_cursor = dict(cursor)
    live = {sources[index].name for _, index, _, _ in heads}
    for source in sources:
        if source.name in last_taken:
            next_cursor[source.name] = source.start_key(last_taken[source.name])
        elif source.name not in live:
            next_cursor[source.name] = "done"
    return page, next_cursor


def _push(heads: list, index: int, iterator: Iterator[Any], order: Callable[[Any], str]) -> None:
    item = next(iterator, None)
    if item is not None:
        heapq.heappush(heads, (order(item), index, item, iterator))


class _descending(str):
    """heapq is a min-heap: this string orders greatest first."""

    def __lt__(self, other: str) -> bool:  # type: ignore[override]
        return str.__gt__(self, other)
