"""Webhook ingest of a new message, warm and in-process against the local stack: latency and DynamoDB calls."""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections import Counter
from contextlib import contextmanager
from typing import Any

from botocore.client import BaseClient

WARMUP = 30
MESSAGES = 400


@contextmanager
def counting_dynamodb_calls():
    """Counts every DynamoDB API call made by any botocore client (PynamoDB's included) while active."""
    counts: Counter[str] = Counter()
    original = BaseClient._make_api_call
    bench_thread = threading.get_ident()

    def counted(self: BaseClient, operation_name: str, api_params: dict) -> Any:
        # Only the handler's own calls: the stream pumps run in other threads of this process.
        if self.meta.service_model.service_name == "dynamodb" and threading.get_ident() == bench_thread:
            counts[operation_name] += 1
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = counted  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


def webhook_event(inbox: dict, update: dict) -> dict:
    body = json.dumps(update)
    path = f"/webhooks/telegram/{inbox['id']}"
    return {
        "version": "2.0", "routeKey": "POST /webhooks/{channel}/{inbox_id}", "rawPath": path, "rawQueryString": "",
        "headers": {"content-type": "application/json", "host": "bench.local",
                    "x-telegram-bot-api-secret-token": inbox["webhook_secret"]},
        "pathParameters": {"channel": "telegram", "inbox_id": inbox["id"]},
        "requestContext": {"http": {"method": "POST", "path": path, "protocol": "HTTP/1.1",
                                    "sourceIp": "127.0.0.1", "userAgent": "bench"},
                           "requestId": "bench", "routeKey": "POST /webhooks/{channel}/{inbox_id}", "stage": "$default",
                           "timeEpoch": int(time.time() * 1000)},
        "body": body, "isBase64Encoded": False,
    }


def update(n: int, chat_id: int | None = None) -> dict:
    """Update ``n``: from a new customer each time, or, with ``chat_id``, the next message of one conversation."""
    chat = {"id": chat_id or 9_000_000 + n, "first_name": f"Bench {n}", "type": "private"}
    return {"update_id": 500_000 + n, "message": {"message_id": n, "from": {"id": chat["id"], "is_bot": False,
                                                                             "first_name": chat["first_name"]},
                                                   "chat": chat, "date": int(time.time()), "text": f"hello {n}"}}


def measure(webhooks: Any, inbox: dict, updates: list[dict], label: str) -> dict[str, float]:
    timings: list[float] = []
    with counting_dynamodb_calls() as counts:
        for body in updates:
            event = webhook_event(inbox, body)
            start = time.perf_counter()
            answer = webhooks.invoke(event)
            timings.append(time.perf_counter() - start)
            assert answer["statusCode"] == 200, answer
    timings.sort()
    p50, p99 = statistics.median(timings), timings[int(len(timings) * 0.99) - 1]
    calls = sum(counts.values()) / len(updates)
    print(f"webhook ingest, {label}: {len(updates)} messages")
    print(f"  p50 {p50 * 1000:.1f} ms   p99 {p99 * 1000:.1f} ms   mean {statistics.fmean(timings) * 1000:.1f} ms")
    print(f"  DynamoDB calls per message: {calls:.2f} ({dict(counts)})")
    return {"p50_ms": p50 * 1000, "p99_ms": p99 * 1000, "dynamodb_calls_per_message": calls}


def run(stack: Any) -> dict[str, dict[str, float]]:
    webhooks = stack.functions["WebhooksFunction"]
    inbox = next(i for i in stack.demo["inboxes"] if i["channel"] == "telegram")
    for n in range(WARMUP):
        webhooks.invoke(webhook_event(inbox, update(n)))
    # In AWS the stream consumers run in other containers; here they would share this process's CPU and GIL.
    stack.pumps.stop()
    new = measure(webhooks, inbox, [update(n) for n in range(WARMUP, WARMUP + MESSAGES)],
                  "each from a new customer (new contact and conversation)")
    base = WARMUP + MESSAGES
    existing = measure(webhooks, inbox, [update(n, chat_id=8_000_001) for n in range(base, base + MESSAGES)],
                       "into one open conversation")
    return {"new": new, "existing": existing}
