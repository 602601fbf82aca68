"""Integration tests run against the local stack of the session (the `stack` fixture in tests/conftest.py):
moto, the gateway, the pumps and the simulator, all in this process."""

import pytest

from tests.integration.helpers import demo_operator


@pytest.fixture
def owner(stack):
    return demo_operator(stack, "owner@acme.example")


@pytest.fixture
def anna(stack):
    """A Support operator (she may edit dialog settings)."""
    return demo_operator(stack, "anna@acme.example")


@pytest.fixture
def boris(stack):
    """A Billing operator: the demo inboxes route to Support, so he sees none of their conversations."""
    return demo_operator(stack, "boris@acme.example")
