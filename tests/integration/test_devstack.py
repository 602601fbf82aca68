"""The local stack itself: provisioning from template.yaml, real Step Functions timers, stream pumps with Lambda's
retry rules, the gateway's REST, webhook and WebSocket plumbing, the messenger simulator, and lint."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayProxyEventModel,
    APIGatewayProxyEventV2Model,
    APIGatewayWebSocketConnectEventModel,
    APIGatewayWebSocketDisconnectEventModel,
    APIGatewayWebSocketMessageEventModel,
)
from boto3.dynamodb.types import Binary
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from infra.devstack import apigw
from infra.devstack.provision import write_translated
from infra.devstack.stack import LocalStack
from infra.devstack.template import TEMPLATE_PATH, HttpRoute

CFN_LINT = Path(sys.executable).with_name("cfn-lint")


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _id_token(stack: LocalStack, operator: dict[str, Any]) -> str:
    result = boto3.client("cognito-idp").initiate_auth(
        ClientId=stack.outputs["UserPoolClientId"], AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": operator["email"], "PASSWORD": operator["password"]},
    )
    return result["AuthenticationResult"]["IdToken"]


def _eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
    return result


# ---------------------------------------------------------------------- provisioning


def test_every_output_names_a_resource_that_exists_in_moto(stack: LocalStack) -> None:
    # Given the stack provisioned from template.yaml
    checks: dict[str, Callable[[str], Any]] = {
        "TableName": lambda name: boto3.client("dynamodb").describe_table(TableName=name),
        "StreamArn": lambda arn: boto3.client("dynamodbstreams").describe_stream(StreamArn=arn),
        "QueueUrl": lambda url: boto3.client("sqs").get_queue_attributes(QueueUrl=url),
        "BucketName": lambda name: boto3.client("s3").head_bucket(Bucket=name),
        "TopicArn": lambda arn: boto3.client("sns").get_topic_attributes(TopicArn=arn),
        "StateMachineArn": lambda arn: boto3.client("stepfunctions").describe_state_machine(stateMachineArn=arn),
        "UserPoolId": lambda pool: boto3.client("cognito-idp").describe_user_pool(UserPoolId=pool),
        "UserPoolClientId": lambda client: boto3.client("cognito-idp").describe_user_pool_client(
            UserPoolId=stack.outputs["UserPoolId"], ClientId=client),
    }
    api_urls = {"RestApiUrl", "WebhooksUrl", "WebSocketUrl"}  # served by the gateway, not by moto

    # When each output is looked up in moto by its kind
    unchecked = []
    for key, value in stack.outputs.items():
        check = next((check for suffix, check in checks.items() if key.endswith(suffix)), None)
        if check is not None:
            check(value)  # raises if the resource does not exist
        elif key not in api_urls:
            unchecked.append(key)

    # Then every output was found, and none is of a kind this test does not know
    assert unchecked == []
    assert set(stack.outputs) >= {"ConversationsTableName", "OutboundQueueUrl", "SnoozeStateMachineArn"}


# ---------------------------------------------------------------------- snooze timers


def _put_snoozed_conversation(stack: LocalStack, snooze_version: int) -> tuple[Any, dict[str, Any]]:
    table = boto3.resource("dynamodb").Table(stack.outputs["ConversationsTableName"])
    tenant_id, conversation_id = f"t-{uuid.uuid4().hex[:8]}", f"c-{uuid.uuid4().hex}"
    # Snoozed for an hour: the timer the reactions consumer starts for this item must not fire during the test.
    until = _iso(datetime.now(UTC) + timedelta(hours=1))
    item = {
        "tenant_id": tenant_id, "conversation_id": conversation_id, "status": "snoozed",
        "snooze_version": snooze_version, "version": 1, "snoozed_until": until,
        "tenant_status": f"{tenant_id}#snoozed", "status_key": f"snoozed#{until}#{conversation_id}",
        "activity_key": f"{until}#{conversation_id}", "last_activity_at": until,
    }
    table.put_item(Item=item)
    return table, item


def _run_snooze(stack: LocalStack, item: dict[str, Any], snooze_version: str, woken_at: str) -> str:
    sfn = boto3.client("stepfunctions")
    execution = sfn.start_execution(
        stateMachineArn=stack.outputs["SnoozeStateMachineArn"],
        name=f"test-{item['conversation_id']}-{snooze_version}",
        input=json.dumps({
            "tenant_id": item["tenant_id"], "conversation_id": item["conversation_id"], "seconds": 1,
            "snooze_version": snooze_version,
            "wake": {"tenant_status": f"{item['tenant_id']}#open", "status_key": f"open#{woken_at}",
                     "activity_key": f"{woken_at}#{item['conversation_id']}", "at": woken_at},
        }),
    )["executionArn"]
    _eventually(lambda: sfn.describe_execution(executionArn=execution)["status"] != "RUNNING")
    return execution


def test_a_snooze_timer_wakes_the_conversation_when_it_is_still_current(stack: LocalStack) -> None:
    # Given a conversation snoozed with snooze_version 1
    table, item = _put_snoozed_conversation(stack, snooze_version=1)
    woken_at = _iso(datetime.now(UTC))

    # When the snooze state machine runs for version 1 and its one-second wait is over
    execution = _run_snooze(stack, item, "1", woken_at)

    # Then the execution succeeded and the conversation is open again, with its list keys moved
    assert boto3.client("stepfunctions").describe_execution(executionArn=execution)["status"] == "SUCCEEDED"
    key = {"tenant_id": item["tenant_id"], "conversation_id": item["conversation_id"]}
    woken = table.get_item(Key=key, ConsistentRead=True)["Item"]
    assert woken["status"] == "open"
    assert woken["tenant_status"] == f"{item['tenant_id']}#open"
    assert woken["woke_at"] == woken_at
    assert woken["version"] == 2
    assert "snoozed_until" not in woken


def test_a_stale_snooze_timer_ends_quietly_and_changes_nothing(stack: LocalStack) -> None:
    # Given a conversation snoozed again since: its current snooze_version is 1
    table, item = _put_snoozed_conversation(stack, snooze_version=1)

    # When a timer of the replaced snooze (version 0) fires
    execution = _run_snooze(stack, item, "0", _iso(datetime.now(UTC)))

    # Then the execution succeeded through StaleTimer and the conversation is exactly as it was
    sfn = boto3.client("stepfunctions")
    assert sfn.describe_execution(executionArn=execution)["status"] == "SUCCEEDED"
    entered = [event["stateEnteredEventDetails"]["name"]
               for event in sfn.get_execution_history(executionArn=execution)["events"]
               if "stateEnteredEventDetails" in event]
    assert entered[-1] == "StaleTimer"
    key = {"tenant_id": item["tenant_id"], "conversation_id": item["conversation_id"]}
    assert table.get_item(Key=key, ConsistentRead=True)["Item"] == item


# ---------------------------------------------------------------------- stream pumps


def test_a_table_write_reaches_a_stream_consumer_as_a_lambda_event(stack: LocalStack, wait_idle) -> None:
    # Given a probe consuming the messages stream
    received: list[dict[str, Any]] = []
    stream_arn = stack.outputs["MessagesStreamArn"]
    stack.pumps.add_stream_consumer("probe-messages", stream_arn, lambda event: received.extend(event["Records"]))

    # When an item is written to the messages table ("kind" that no real consumer reacts to)
    pk = f"probe#{uuid.uuid4().hex}"
    boto3.resource("dynamodb").Table(stack.outputs["MessagesTableName"]).put_item(
        Item={"pk": pk, "sk": "probe", "kind": "probe", "blob": Binary(b"\x00\x01")})
    wait_idle()

    # Then the probe got it as Lambda delivers a DynamoDB stream record
    record = next(record for record in received if record["dynamodb"]["Keys"]["pk"] == {"S": pk})
    assert record["eventName"] == "INSERT"
    assert record["eventSource"] == "aws:dynamodb"
    assert record["eventSourceARN"] == stream_arn
    assert record["dynamodb"]["NewImage"]["blob"] == {"B": "AAE="}
    assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)


def test_a_record_that_keeps_failing_is_retried_then_sent_to_the_on_failure_queue(stack: LocalStack,
                                                                                 wait_idle) -> None:
    # Given a consumer that reports one "poison" record as failed every time it sees it
    pk = f"poison#{uuid.uuid4().hex}"
    deliveries: list[str] = []
    sequence_numbers: dict[str, str] = {}

    def consumer(event: dict[str, Any]) -> dict[str, Any]:
        failures = []
        for record in event["Records"]:
            key = record["dynamodb"]["Keys"]["pk"]["S"]
            deliveries.append(key)
            sequence_numbers[key] = record["dynamodb"]["SequenceNumber"]
            if key == pk:
                failures.append({"itemIdentifier": record["dynamodb"]["SequenceNumber"]})
        return {"batchItemFailures": failures}

    failure_queue = stack.outputs["StreamFailureQueueUrl"]
    failure_arn = boto3.client("sqs").get_queue_attributes(
        QueueUrl=failure_queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    stack.pumps.add_stream_consumer("probe-poison", stack.outputs["MessagesStreamArn"], consumer,
                                    maximum_retry_attempts=2, report_item_failures=True, on_failure_arn=failure_arn)

    # When a good record and then the poison record are written
    table = boto3.resource("dynamodb").Table(stack.outputs["MessagesTableName"])
    good = f"good#{uuid.uuid4().hex}"
    table.put_item(Item={"pk": good, "sk": "probe", "kind": "probe"})
    table.put_item(Item={"pk": pk, "sk": "probe", "kind": "probe"})
    wait_idle()

    # Then the good record was delivered once, the poison one three times (two retries),
    # and the on-failure queue describes the failed part of the batch
    assert deliveries.count(good) == 1
    assert deliveries.count(pk) == 3

    def failure_record() -> dict[str, Any] | None:
        for message in boto3.client("sqs").receive_message(QueueUrl=failure_queue, MaxNumberOfMessages=10).get(
                "Messages", []):
            body = json.loads(message["Body"])
            if body["requestContext"]["functionArn"] == "devstack:consumer:probe-poison":
                return body
        return None

    body = _eventually(failure_record)
    assert body["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert body["DDBStreamBatchInfo"]["startSequenceNumber"] == sequence_numbers[pk]
    assert body["DDBStreamBatchInfo"]["streamArn"] == stack.outputs["MessagesStreamArn"]


# ---------------------------------------------------------------------- gateway


def test_posting_to_an_unknown_connection_raises_gone(stack: LocalStack) -> None:
    # Given the management API client the functions build from WEBSOCKET_ENDPOINT
    client = boto3.client("apigatewaymanagementapi", endpoint_url=stack.env["WEBSOCKET_ENDPOINT"])

    # When it posts to a connection that does not exist, then it gets GoneException, as from API Gateway
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId="L0SM9cOFvHcCIhw=", Data=b'{"type": "ping"}')


def test_an_operator_socket_receives_posts_until_it_is_deleted(stack: LocalStack) -> None:
    # Given an operator connected with their ID token
    token = _id_token(stack, stack.demo["operators"][0])
    connections = boto3.resource("dynamodb").Table(stack.outputs["ConnectionsTableName"])
    known = {item["connection_id"] for item in connections.scan()["Items"]}
    client = boto3.client("apigatewaymanagementapi", endpoint_url=stack.env["WEBSOCKET_ENDPOINT"])
    with connect(f"{stack.urls['ws']}?token={token}", open_timeout=10) as socket:
        connection_id = _eventually(
            lambda: ({item["connection_id"] for item in connections.scan()["Items"]} - known or {None}).pop())

        # When the service posts to the connection
        client.post_to_connection(ConnectionId=connection_id, Data=b'{"type": "hello"}')

        # Then the socket receives the frame, and the connection can be described and closed
        assert json.loads(socket.recv(timeout=5)) == {"type": "hello"}
        assert client.get_connection(ConnectionId=connection_id)["Identity"]["SourceIp"] == "127.0.0.1"
        client.delete_connection(ConnectionId=connection_id)
        with pytest.raises(ConnectionClosed):
            socket.recv(timeout=5)
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId=connection_id, Data=b"{}")


def test_a_socket_without_a_token_is_refused_at_the_upgrade(stack: LocalStack) -> None:
    # When a client connects without a token, then $connect refuses it and the upgrade gets its status
    with pytest.raises(InvalidStatus) as refused:
        connect(stack.urls["ws"], open_timeout=10)
    assert refused.value.response.status_code == 401


def test_rest_routes_pass_the_cognito_authorizer_only_with_an_id_token(stack: LocalStack) -> None:
    api = stack.urls["api"]
    # When the API is called without a token, then the authorizer answers 401 before any function runs
    anonymous = httpx.get(f"{api}/v1/me")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthorized"  # the template's GatewayResponse

    # When an operator calls with their ID token, then the request reaches the API function
    token = _id_token(stack, stack.demo["operators"][0])
    assert httpx.get(f"{api}/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    # And a CORS preflight is answered from the template's Cors settings
    preflight = httpx.options(f"{api}/v1/me")
    assert preflight.status_code == 200
    assert "Authorization" in preflight.headers["access-control-allow-headers"]


def test_unknown_paths_and_methods_are_problems(stack: LocalStack) -> None:
    api = stack.urls["api"]
    assert httpx.get(f"{api}/v1/no-such-thing").status_code == 404
    refused = httpx.delete(f"{api}/v1/teams")
    assert refused.status_code == 405
    assert refused.headers["content-type"] == "application/problem+json"


# ---------------------------------------------------------------------- simulator


def test_a_customer_message_from_the_simulator_is_accepted_by_the_webhook(stack: LocalStack, wait_idle) -> None:
    # Given the demo Telegram inbox
    inbox = next(inbox for inbox in stack.demo["inboxes"] if inbox["channel"] == "telegram")

    # When a customer writes through the simulator
    sent = httpx.post(f"{stack.urls['simulator']}api/telegram/{inbox['id']}/send", timeout=30,
                      json={"chat_id": 424242, "first_name": "Ada", "last_name": "Lovelace", "text": "Hello!"})

    # Then the webhook took the signed update
    assert sent.status_code == 200
    assert sent.json()["status"] == 200
    assert sent.json()["update"]["message"]["text"] == "Hello!"
    wait_idle()


def test_the_fake_telegram_api_records_sends_and_fails_once_on_request(stack: LocalStack) -> None:
    simulator = stack.urls["simulator"]
    token = next(inbox for inbox in stack.demo["inboxes"] if inbox["channel"] == "telegram")["bot_token"]
    after = max((call["seq"] for call in httpx.get(f"{simulator}api/outbox").json()["calls"]), default=0)
    send = f"{simulator}telegram/bot{token}/sendMessage"

    # When the next send is armed to fail, and two messages are sent to one chat
    httpx.post(f"{simulator}api/telegram/fail-next",
               json={"error_code": 403, "description": "Forbidden: bot was blocked by the user"})
    blocked = httpx.post(send, json={"chat_id": 777001, "text": "first"})
    delivered = httpx.post(send, json={"chat_id": 777001, "text": "second"})

    # Then only the first failed, the way Telegram says it, and both calls are in the outbox
    assert (blocked.status_code, blocked.json()["description"]) == (403, "Forbidden: bot was blocked by the user")
    assert delivered.json()["ok"] is True
    assert delivered.json()["result"]["chat"]["id"] == 777001
    calls = httpx.get(f"{simulator}api/outbox", params={"after": after}).json()["calls"]
    assert [call["payload"]["text"] for call in calls if call["payload"].get("chat_id") == 777001] == [
        "first", "second"]
    # And a token the simulator does not know is refused
    assert httpx.post(f"{simulator}telegram/bot1:nope/sendMessage", json={}).status_code == 401


# ---------------------------------------------------------------------- event shapes and lint


def test_gateway_events_validate_against_the_powertools_models() -> None:
    # Given a request as the gateway receives it
    incoming = apigw.Incoming(method="POST", path="/v1/conversations/c1/messages", raw_query="a=1&a=2",
                              headers=[("content-type", "application/json"), ("user-agent", "test")],
                              body=b'{"text": "hi"}', source_ip="127.0.0.1", domain="127.0.0.1:8000")
    rest = HttpRoute("RestApi", "1.0", "prod", "/v1/conversations/{conversation_id}/messages", "POST",
                     "ApiFunction", "OperatorPool")
    webhook = HttpRoute("WebhooksHttpApi", "2.0", "$default", "/webhooks/{channel}/{inbox_id}", "POST",
                        "WebhooksFunction", None)
    session = apigw.SocketSession("L0SM9cOFvHcCIhw=", "abc", "live", "127.0.0.1:8000", "127.0.0.1", "test")

    # When the gateway builds each kind of event, then Powertools' models accept it
    APIGatewayProxyEventModel.model_validate(apigw.rest_event(rest, incoming, {"conversation_id": "c1"}, "api",
                                                              {"sub": "s"}))
    v2 = APIGatewayProxyEventV2Model.model_validate(
        apigw.http_event(webhook, incoming, {"channel": "telegram", "inbox_id": "i"}, "api"))
    assert v2.queryStringParameters == {"a": "1,2"}
    APIGatewayWebSocketConnectEventModel.model_validate(apigw.connect_event(session, incoming.headers, "token=t"))
    APIGatewayWebSocketMessageEventModel.model_validate(apigw.message_event(session, "$default", "{}"))
    APIGatewayWebSocketDisconnectEventModel.model_validate(apigw.disconnect_event(session, 1000, ""))


def test_the_template_and_its_translation_pass_cfn_lint(tmp_path: Path) -> None:
    # Given the SAM template and the CloudFormation template samtranslator makes of it
    translated = write_translated(tmp_path / "translated.json")

    # When cfn-lint checks both, then it finds nothing
    for path in (TEMPLATE_PATH, translated):
        result = subprocess.run([str(CFN_LINT), str(path)], capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
