"""The tenant's SLA policies: one directory item holding the ordered list, cached per warm Lambda (the reactions
consumer reads them for most conversation changes; admins change them rarely)."""

from __future__ import annotations

import time

from pynamodb.exceptions import DoesNotExist

from ..domain.sla import SlaPolicy
from .models import SlaPoliciesItem

SK = "sla_policies"
CACHE_SECONDS = 60.0


class SlaPolicyStore:
    def __init__(self, cache_seconds: float = CACHE_SECONDS) -> None:
        self._cache: dict[str, tuple[float, list[SlaPolicy]]] = {}
        self._ttl = cache_seconds

    def get(self, tenant_id: str) -> list[SlaPolicy]:
        hit = self._cache.get(tenant_id)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        try:
            policies = [SlaPolicy.from_dict(data) for data in SlaPoliciesItem.get(tenant_id, SK).policies or []]
        except DoesNotExist:
            policies = []
        self._cache[tenant_id] = (time.monotonic() + self._ttl, policies)
        return policies

    def put(self, tenant_id: str, policies: list[SlaPolicy], updated_by: str) -> None:
        SlaPoliciesItem(tenant_id, SK, policies=[policy.to_dict() for policy in policies],
                        updated_by=updated_by).save()
        self._cache.pop(tenant_id, None)
