"""Reading and setting the tenant's business hours (SLA clocks and out-of-hours replies are measured in them)."""

from __future__ import annotations

from ..domain.business_hours import BusinessHours
from ..domain.conversation import OperatorView
from ..domain.errors import Forbidden
from ..store.business_hours import BusinessHoursStore


class BusinessHoursService:
    def __init__(self, store: BusinessHoursStore) -> None:
        self._store = store

    def get(self, viewer: OperatorView) -> BusinessHours:
        return self._store.get(viewer.tenant_id)

    def put(self, viewer: OperatorView, body: object) -> BusinessHours:
        if not viewer.is_admin:
            raise Forbidden("Only owners and admins change the business hours.")
        hours = BusinessHours.from_dict(body)  # a 400 naming what is wrong
        self._store.put(viewer.tenant_id, hours, viewer.operator_id)
        return hours
