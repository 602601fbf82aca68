"""Send pacing per chat and per account, shared by every outbound worker through conditional writes."""

from __future__ import annotations

import time

from pynamodb.exceptions import UpdateError

from .models import PaceItem

TTL_SECONDS = 3600


class Pacer:
    def claim(self, tenant_id: str, inbox_id: str, source_id: str, *, chat_interval: float,
              account_per_second: int) -> float:
        """Take a send slot now, or say how many seconds until one may be free (0: send now).

        Per chat: one message every ``chat_interval`` seconds; per account: ``account_per_second`` messages in one
        wall-clock second. Each is one conditional write, so they hold across concurrent workers.
        """
        now = time.time()
        if chat_interval > 0:
            wait = self._chat(f"{tenant_id}#pace#{inbox_id}#{source_id}", now, chat_interval)
            if wait > 0:
                return wait
        if account_per_second > 0 and not self._account(f"{tenant_id}#rate#{inbox_id}#{int(now)}", now,
                                                          account_per_second):
            return 1.0 - (now % 1.0)
        return 0.0

    def _chat(self, pk: str, now: float, interval: float) -> float:
        try:
            PaceItem(pk, "chat").update(
                actions=[PaceItem.next_at.set(now + interval), PaceItem.kind.set("pace"),
                         PaceItem.expires_at.set(int(now) + TTL_SECONDS)],
                condition=PaceItem.next_at.does_not_exist() | (PaceItem.next_at <= now),
            )
        except UpdateError as exc:
            if not _condition_failed(exc):
                raise
            return max(0.05, PaceItem.get(pk, "chat", consistent_read=True).next_at - now)
        return 0.0

    def _account(self, pk: str, now: float, limit: int) -> bool:
        try:
            PaceItem(pk, "account").update(
                actions=[PaceItem.sent.add(1), PaceItem.kind.set("pace"), PaceItem.expires_at.set(int(now) + 120)],
                condition=PaceItem.sent.does_not_exist() | (PaceItem.sent < limit),
            )
        except UpdateError as exc:
            if not _condition_failed(exc):
                raise
            return False
        return True


def _condition_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"
