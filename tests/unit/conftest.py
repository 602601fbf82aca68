"""Service tests run against an in-process moto with the template's own table definitions."""

import os

import boto3
import pytest
from moto import mock_aws

from infra.devstack.moto_internals import make_dynamodb_queries_indexed, make_dynamodb_transactions_atomic
from switchboard.config import Settings
from switchboard.services.provisioning import ProvisioningService, seed_demo
from switchboard.wiring import Services
from tests.support.tables import create_tables
from tests.support.views import follow_views

AWS_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "POWERTOOLS_TRACE_DISABLED": "1",
}


@pytest.fixture
def world(monkeypatch):
    """Given a workspace (the demo seed) in an empty in-process AWS."""
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    make_dynamodb_transactions_atomic()  # moto's own rollback would undo concurrent writes
    make_dynamodb_queries_indexed()  # as in the local stack: Queries read their partition only
    with mock_aws():
        env = create_tables()
        env.update(
            OUTBOUND_QUEUE_URL="unused", SNOOZE_STATE_MACHINE_ARN="unused", ATTACHMENTS_BUCKET="unused",
            TASK_DEADLINE_STATE_MACHINE_ARN="unused", SLA_STATE_MACHINE_ARN="unused",
            USER_POOL_ID="unused", USER_POOL_CLIENT_ID="unused", WEBSOCKET_ENDPOINT="http://127.0.0.1:9",
            TELEGRAM_API_BASE="http://127.0.0.1:9", SECRETS_PREFIX="/switchboard/test",
            NOTIFICATION_SENDER="notifications@switchboard.test",
        )
        services = Services(Settings.from_env({**os.environ, **env}))
        follow_views(services, env)  # the lists read what the stream consumer would have written by then
        cognito = boto3.client("cognito-idp")
        pool = cognito.create_user_pool(PoolName="operators")["UserPool"]["Id"]
        demo = seed_demo(ProvisioningService(services.directory, services.secrets, cognito, pool))
        yield services, demo
