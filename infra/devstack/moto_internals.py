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


def make_dynamodb_queries_indexed() -> None:
    """Answer base-table Queries from per-partition sorted keys, in O(log n + k), with DynamoDB's semantics (see
    moto_queries). moto sorts the whole table on every Query, so list views would slow down as a tenant grows and the
    benchmark could not tell a good key design from a bad one. Idempotent."""
    from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, Table

    from infra.devstack import moto_queries

    if getattr(Table, "_indexed_queries", False):
        return
    original = Table.query

    @functools.wraps(original)
    def query(self: Any, hash_key: Any, range_comparison: str | None, range_objs: list[Any], limit: int | None,
              exclusive_start_key: dict[str, Any] | None, scan_index_forward: bool, projection_expressions: Any,
              index_name: str | None = None, consistent_read: bool = False, filter_expression: Any = None,
              hash_key_conditions: list | None = None, range_key_conditions: list | None = None,
              **filter_kwargs: Any) -> Any:
        if not moto_queries.indexable(self, hash_key, index_name, hash_key_conditions, range_key_conditions,
                                      filter_kwargs, range_comparison):
            return original(self, hash_key, range_comparison, range_objs, limit, exclusive_start_key,
                            scan_index_forward, projection_expressions, index_name, consistent_read,
                            filter_expression, hash_key_conditions=hash_key_conditions,
                            range_key_conditions=range_key_conditions, **filter_kwargs)
        with _DYNAMODB_WRITES:  # a concurrent write must not move the keys under the walk
            return moto_queries.query(self, hash_key, range_comparison, range_objs, limit, exclusive_start_key,
                                      scan_index_forward, projection_expressions, filter_expression,
                                      RESULT_SIZE_LIMIT)

    Table.query = query  # type: ignore[method-assign]
    Table._indexed_queries = True  # type: ignore[attr-defined]


def bulk_load(table_name: str, items: list[dict[str, Any]]) -> None:
    """Put items straight into the embedded table: no API round trip, no conditions, no stream records.

    For benchmarks that need 100,000s of items in seconds. The partitions they land in go back to plain dicts, to be
    sorted again once on their next Query instead of item by item here.
    """
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(table_name)
    with _DYNAMODB_WRITES:
        for attrs in items:
            item = _item(attrs, table.hash_key_attr, table.range_key_attr)
            hash_key, range_key = item.hash_key, item.range_key
            if range_key is None:
                table.items[hash_key] = item
                continue
            partition = table.items[hash_key]
            if type(partition) is not dict:
                partition = table.items[hash_key] = dict(partition)
            partition[range_key] = item


def _item(attrs: dict[str, Any], hash_attr: str, range_attr: str | None) -> Any:
    """A moto Item without its per-attribute size check, which is quadratic in the number of attributes (moto's own
    deepcopy skips it the same way)."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    values = LimitedSizeDict.__new__(LimitedSizeDict)
    dict.__init__(values)
    for name, value in attrs.items():
        kind = next(iter(value))
        if kind in ("S", "N", "BOOL", "NULL"):  # what DynamoType() does for scalars, without its generic path
            typed = DynamoType.__new__(DynamoType)
            typed.type, typed.value = kind, value[kind]
        else:
            typed = DynamoType(value)
        dict.__setitem__(values, name, typed)
    item = Item.__new__(Item)
    item.hash_key = values[hash_attr]
    item.range_key = values[range_attr] if range_attr else None
    item.attrs = values
    return item
