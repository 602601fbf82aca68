"""Fixtures shared by every test folder: the fake Bot API, and the one local stack of a test session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest_plugins = [
    "tests.support.fake_telegram",
    "tests.support.fake_graph",
    "tests.support.fake_vk",
    "tests.support.fake_twilio",
]


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One local stack per test session (integration and browser tests share it), started on first use."""
    from infra.devstack.stack import LocalStack

    # The state file goes to a temporary folder so a running `make dev` keeps its own .devstack/stack.json.
    local = LocalStack().start(gateway_port=0, seed=True,
                               state_file=tmp_path_factory.mktemp("devstack") / "stack.json")
    yield local
    local.stop()


@pytest.fixture
def wait_idle(stack: Any) -> Callable[..., None]:
    """Wait until every stream and queue is drained (instead of sleeping)."""

    def wait(timeout: float = 10.0) -> None:
        assert stack.wait_idle(timeout), f"the stream and queue pumps did not drain within {timeout} s"

    return wait
