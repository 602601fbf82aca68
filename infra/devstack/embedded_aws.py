"""Embedded AWS: moto's server on a free loopback port inside this process, with Step Functions executions enabled,
and the environment that points every boto3 client (the devstack's and the handlers') at it."""

from __future__ import annotations

import logging
import os

from moto.core.config import default_user_config
from moto.server import ThreadedMotoServer

REGION = "us-east-1"

# What boto3, Powertools and moto read; fake credentials so nothing ever looks for real ones.
BASE_ENV = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "TZ": "UTC",
    "POWERTOOLS_TRACE_DISABLED": "1",
    # botocore would otherwise try account-id based endpoints for DynamoDB (and Streams) and miss moto.
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
}


class EmbeddedAws:
    """moto's ThreadedMotoServer on 127.0.0.1; `endpoint` is its URL once started."""

    def __init__(self) -> None:
        self._server: ThreadedMotoServer | None = None
        self.endpoint = ""

    def start(self) -> dict[str, str]:
        """Start the server and return the environment variables it set in this process."""
        # Must be on before any state machine exists: the API then creates them in the executing backend.
        default_user_config["stepfunctions"] = {"execute_state_machine": True}
        from infra.devstack.moto_internals import (  # it imports this module
            make_dynamodb_queries_indexed,
            make_dynamodb_transactions_atomic,
        )

        make_dynamodb_transactions_atomic()
        make_dynamodb_queries_indexed()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request drowns everything else
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        _, port = self._server.get_host_and_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        # Step Functions tasks call back into moto at localhost:$MOTO_PORT; set it before any execution starts.
        env = BASE_ENV | {"MOTO_PORT": str(port), "AWS_ENDPOINT_URL": self.endpoint}
        os.environ.update(env)
        return env

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
