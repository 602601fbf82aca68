"""The tenant's business hours, one directory item. Without one, the tenant is open around the clock."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from pynamodb.exceptions import DoesNotExist

from ..domain.business_hours import BusinessHours, time_zone
from .models import BusinessHoursItem, TenantItem

SK = "business_hours"


class BusinessHoursStore:
    def get(self, tenant_id: str) -> BusinessHours:
        try:
            return BusinessHours.from_dict(BusinessHoursItem.get(tenant_id, SK).config)
        except DoesNotExist:
            return BusinessHours.always_open(self._tenant_zone(tenant_id))

    def zone(self, tenant_id: str) -> ZoneInfo:
        """The tenant's wall clock (snooze presets, out-of-hours replies): its own time zone. UTC is also what a
        tenant gets without choosing, so when its admin did choose another zone for the business hours, that wins."""
        chosen = self._tenant_zone(tenant_id)
        return time_zone(chosen) if chosen != "UTC" else self.get(tenant_id).zone

    def put(self, tenant_id: str, hours: BusinessHours, by: str) -> None:
        BusinessHoursItem(tenant_id, SK, config=hours.to_dict(), updated_by=by).save()

    @staticmethod
    def _tenant_zone(tenant_id: str) -> str:
        try:
            return TenantItem.get(tenant_id, "tenant").time_zone or "UTC"
        except DoesNotExist:
            return "UTC"
