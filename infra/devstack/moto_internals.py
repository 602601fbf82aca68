"""The few places the devstack reads the embedded moto's backends directly instead of through its API: what the API
cannot tell, cheap checks that keep idle polling from costing most of a CPU core, and housekeeping moto skips.
If a moto upgrade breaks the devstack, look here first."""

from __future__ import annotations

import functools
import threading
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID

from infra.devstack.embedded_aws import REGION


def cloudformation_state_machine(arn: str) -> Any:
    """A state machine as CloudFormation created it, in moto's non-executing Step Functions backend."""
    from moto.stepfunctions.models import stepfunctions_backends

    return stepfunctions_backends[DEFAULT_ACCOUNT_ID][REGION].describe_state_machine(arn)


def stream_size(stream_arn: str) -> int:
    """How many records the table's stream shard holds; it only ever grows."""
    from moto.dynamodb.models import dynamodb_backends

    table_name = stream_arn.split(":table/", 1)[1].split("/stream/", 1)[0]
    shard = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(table_name).stream_shard
    return len(shard.items) if shard is not None else 0


def visible_messages(queue_arn: str) -> int:
    """Messages a ReceiveMessage would return now (not in flight, not delayed)."""
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[DEFAULT_ACCOUNT_ID][REGION].get_queue(queue_arn.rsplit(":", 1)[1])
    return queue.approximate_number_of_messages


def forget_shard_iterator(iterator: str) -> None:
    """moto keeps every shard iterator it ever handed out (about 2 KB each); a poll loop would grow that by hundreds
    of MB an hour. A used iterator is never read again."""
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    dynamodbstreams_backends[DEFAULT_ACCOUNT_ID][REGION].shard_iterators.pop(iterator, None)


def sent_emails() -> list[Any]:
    """What moto's SES accepted through send_email / send_raw_email / send_templated_email."""
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


_DYNAMODB_WRITES = threading.RLock()


def make_dynamodb_transactions_atomic() -> None:
    """Give moto's TransactWriteItems DynamoDB's all-or-nothing semantics.

    moto applies a transaction's operations one by one and, when a later condition fails, puts back deep copies of
    whole tables. That revert undoes concurrent writes from other requests, and the copied table gets a new stream
    shard, so every open shard iterator (the pumps', Lambda's) silently stops seeing records. Here all conditions
    are checked first, under one lock shared with single-item writes, and the operations are applied only if every
    condition holds: nothing is ever rolled back. Idempotent.
    """
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "_atomic_transactions", False):
        return
    for name in ("put_item", "update_item", "delete_item"):
        setattr(DynamoDBBackend, name, _under_write_lock(getattr(DynamoDBBackend, name)))
    DynamoDBBackend.transact_write_items = _atomic_transact_write_items  # type: ignore[method-assign]
    DynamoDBBackend._atomic_transactions = True  # type: ignore[attr-defined]


def _under_write_lock(method: Any) -> Any:
    @functools.wraps(method)
    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _DYNAMODB_WRITES:
            return method(self, *args, **kwargs)

    return locked


def _atomic_transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    from moto.dynamodb.exceptions import TooManyTransactionsException, TransactionCanceledException

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    with _DYNAMODB_WRITES:
        checks = [_condition_holds(self, *next(iter(item.items()))) for item in transact_items]
        if not all(checks):
            raise TransactionCanceledException([
                (None, None, None) if ok else ("ConditionalCheckFailed", "The conditional request failed", None)
                for ok in checks
            ])
        for item in transact_items:
            _apply(self, *next(iter(item.items())))


def _item_key(backend: Any, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return op["Key"]
    table = backend.get_table(op["TableName"])
    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = op["Item"][table.range_key_attr]
    return key


def _condition_holds(backend: Any, op_type: str, op: dict[str, Any]) -> bool:
    from moto.dynamodb.comparisons import get_filter_expression

    expression = op.get("ConditionExpression")
    if expression is None:
        return True
    current = backend.get_item(op["TableName"], _item_key(backend, op_type, op))
    condition = get_filter_expression(expression, op.get("ExpressionAttributeNames"),
                                      op.get("ExpressionAttributeValues"))
    return bool(condition.expr(current))


def _apply(backend: Any, op_type: str, op: dict[str, Any]) -> None:
    # The condition still holds (we hold the lock); passing it along keeps moto's checks of unused values happy.
    expression = {"condition_expression": op.get("ConditionExpression"),
                  "expression_attribute_names": op.get("ExpressionAttributeNames"),
                  "expression_attribute_values": op.get("ExpressionAttributeValues")}
    if op_type == "Put":
        backend.put_item(op["TableName"], op["Item"], **expression)
    elif op_type == "Update":
        backend.update_item(op["TableName"], op["Key"], update_expression=op["UpdateExpression"], **expression)
    elif op_type == "Delete":
        backend.delete_item(op["TableName"], op["Key"], **expression)
