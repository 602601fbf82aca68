"""Runs template.yaml's functions in this process the way Lambda would: each handler imported on its first call from
its code folder (with the shared layer on sys.path), one invocation at a time per function, with a Lambda context."""

from __future__ import annotations

import importlib.util
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID

from infra.devstack.embedded_aws import REGION
from infra.devstack.template import REPO_ROOT, FunctionSpec

log = logging.getLogger(__name__)

SHARED_LAYER = REPO_ROOT / "shared"


def put_layer_on_path() -> None:
    """The shared layer is importable as `switchboard`, as it is under /opt/python in Lambda."""
    if str(SHARED_LAYER) not in sys.path:
        sys.path.insert(0, str(SHARED_LAYER))


class HandlerUnavailable(RuntimeError):
    """The function's module is missing or failed to import (Lambda's Runtime.ImportModuleError)."""


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    deadline: float
    function_version: str = "$LATEST"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"devstack/[$LATEST]{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


class LambdaFunction:
    """One function, warm after its first call. Invocations never overlap, as in a single Lambda execution
    environment: module globals (Chalice's current_request, Powertools metrics) are per invocation there too."""

    def __init__(self, spec: FunctionSpec, physical_name: str) -> None:
        self.spec = spec
        self.name = physical_name
        self.arn = f"arn:aws:lambda:{REGION}:{DEFAULT_ACCOUNT_ID}:function:{physical_name}"
        self._handler: Callable[[Any, LambdaContext], Any] | None = None
        self._lock = threading.Lock()

    def invoke(self, event: Any) -> Any:
        with self._lock:
            handler = self._handler or self._load()
            context = LambdaContext(self.name, self.spec.memory_mb, self.arn, str(uuid.uuid4()),
                                    time.monotonic() + self.spec.timeout)
            return handler(event, context)

    @property
    def source(self) -> Path:
        """The handler's module file, e.g. functions/api/app.py for "app.app"."""
        module_path = self.spec.handler.rsplit(".", 1)[0]
        return self.spec.code_dir / f"{module_path.replace('.', '/')}.py"

    def _load(self) -> Callable[[Any, LambdaContext], Any]:
        if not self.source.is_file():
            raise HandlerUnavailable(f"{self.spec.logical_id}: {self.source.relative_to(REPO_ROOT)} does not exist yet")
        module = self._import(self.source)
        self._handler = getattr(module, self.spec.handler.rsplit(".", 1)[1])
        return self._handler

    def _import(self, source: Path) -> ModuleType:
        # Every function has an app.py: a unique module name keeps them apart in sys.modules.
        name = f"switchboard_fn_{self.spec.code_dir.name.replace('-', '_')}"
        spec = importlib.util.spec_from_file_location(name, source)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        # Siblings of app.py import as they do from Lambda's /var/task, while the module loads.
        sys.path.insert(0, str(self.spec.code_dir))
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[name]
            raise HandlerUnavailable(f"{self.spec.logical_id}: importing {source.name} failed: {exc!r}") from exc
        finally:
            sys.path.remove(str(self.spec.code_dir))
        log.info("%s loaded from %s", self.spec.logical_id, source.relative_to(REPO_ROOT))
        return module
