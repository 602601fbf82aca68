"""The tenant's business hours as admins set them through the service, on the template's tables."""

import pytest

from switchboard.domain.errors import BadRequest, Forbidden
from tests.unit.test_conversation_settings import person

BERLIN_OFFICE = {"time_zone": "Europe/Berlin",
                 "week": {"mon": [{"start": "09:00", "end": "13:00"}, {"start": "14:00", "end": "18:00"}]},
                 "holidays": ["2026-12-25"]}


def test_without_a_setting_the_tenant_is_open_around_the_clock_in_its_zone(world):
    services, demo = world
    hours = services.business_hours.get(person(demo, "anna@acme.example"))
    assert hours.to_dict() == {"time_zone": "Europe/Berlin", "always_open": True}


def test_admins_set_business_hours_and_bad_ones_are_refused(world):
    services, demo = world
    owner, anna = person(demo, "owner@acme.example"), person(demo, "anna@acme.example")
    with pytest.raises(Forbidden):
        services.business_hours.put(anna, BERLIN_OFFICE)
    for bad in ({"time_zone": "Mars/Olympus"}, {"time_zone": "UTC", "week": {"mon": [{"start": "9", "end": "x"}]}},
                "nine to five"):
        with pytest.raises(BadRequest):
            services.business_hours.put(owner, bad)
    services.business_hours.put(owner, BERLIN_OFFICE)
    stored = services.business_hours.get(anna).to_dict()
    assert stored["week"]["mon"] == BERLIN_OFFICE["week"]["mon"] and stored["holidays"] == ["2026-12-25"]
