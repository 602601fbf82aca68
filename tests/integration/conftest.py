"""Integration tests run against one local stack per session: moto, the gateway, the pumps and the simulator, all in
this process (boto3 clients in tests reach moto through the AWS_ENDPOINT_URL the stack sets)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from infra.devstack.stack import LocalStack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    # The state file goes to a temporary folder so a running `make dev` keeps its own .devstack/stack.json.
    local = LocalStack().start(gateway_port=0, seed=True,
                               state_file=tmp_path_factory.mktemp("devstack") / "stack.json")
    yield local
    local.stop()


@pytest.fixture
def wait_idle(stack: LocalStack) -> Callable[..., None]:
    """Wait until every stream and queue is drained (instead of sleeping)."""

    def wait(timeout: float = 10.0) -> None:
        assert stack.wait_idle(timeout), f"the stream and queue pumps did not drain within {timeout} s"

    return wait
