"""Stream and queue pumps: Lambda's event source mappings played against moto. Each polls a DynamoDB stream or an SQS
queue and calls its consumer with Lambda-shaped events, honouring partial batch responses, retries, bisection and the
on-failure destination as Lambda does. `Pumps.wait_idle` lets tests wait for everything to drain instead of sleeping."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any

import boto3

from infra.devstack import moto_internals
from infra.devstack.embedded_aws import REGION
from infra.devstack.provision import EventSourceMapping

log = logging.getLogger(__name__)

Invoke = Callable[[dict[str, Any]], Any]
IDLE_SLEEP = 0.05


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _failed_identifiers(result: Any, known: Collection[str]) -> set[str] | None:
    """The ids a partial batch response reports; None when it is malformed, which fails the whole batch."""
    failures = result.get("batchItemFailures", []) if isinstance(result, dict) else []
    identifiers = {failure.get("itemIdentifier") if isinstance(failure, dict) else None for failure in failures}
    return identifiers if identifiers <= set(known) else None


class _Pump(threading.Thread):
    """A polling loop that counts its polls, so `wait_idle` can ask for a fresh poll that found nothing."""

    def __init__(self, name: str, invoke: Invoke) -> None:
        super().__init__(name=f"devstack-pump-{name}", daemon=True)
        self.invoke = invoke
        self.stopping = threading.Event()
        self.polls_started = 0
        self.last_empty_poll = 0
        self.deliveries = 0

    def run(self) -> None:
        while not self.stopping.is_set():
            self.polls_started += 1
            poll = self.polls_started
            try:
                found = self.poll_once()
            except Exception:
                log.exception("%s: polling failed", self.name)
                self.stopping.wait(1)
                continue
            if not found:
                self.last_empty_poll = poll
                self.stopping.wait(IDLE_SLEEP)

    def poll_once(self) -> bool:
        """Deliver what is waiting; False when there was nothing."""
        raise NotImplementedError

    def caught_up_since(self, poll: int) -> bool:
        return self.last_empty_poll > poll

    def call(self, event: dict[str, Any], size: int) -> tuple[Any, bool]:
        """(result, failed): an exception from the handler is a failure of the whole batch, never of the pump."""
        self.deliveries += 1
        try:
            return self.invoke(event), False
        except Exception:
            log.exception("%s: the handler failed on a batch of %d", self.name, size)
            return None, True


class StreamPump(_Pump):
    """Reads one DynamoDB stream from LATEST (as of construction) for one consumer, with its own shard iterators."""

    def __init__(self, mapping: EventSourceMapping, invoke: Invoke, function_arn: str) -> None:
        super().__init__(mapping.logical_id, invoke)
        self.mapping = mapping
        self._function_arn = function_arn
        self._streams = boto3.client("dynamodbstreams")
        # The shard's size when a read last found nothing: until it grows there is nothing to read.
        self._size_when_caught_up = -1
        shards = self._streams.describe_stream(StreamArn=mapping.source_arn)["StreamDescription"]["Shards"]
        self._iterators: dict[str, str] = {
            shard["ShardId"]: self._streams.get_shard_iterator(
                StreamArn=mapping.source_arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
            )["ShardIterator"]
            for shard in shards
        }

    def poll_once(self) -> bool:
        # Idle polls through the API would cost most of a CPU core across the pumps; peeking in-process costs nothing.
        size = moto_internals.stream_size(self.mapping.source_arn)
        if size == self._size_when_caught_up:
            return False
        found = False
        for shard_id, iterator in list(self._iterators.items()):
            response = self._streams.get_records(ShardIterator=iterator, Limit=self.mapping.batch_size)
            moto_internals.forget_shard_iterator(iterator)
            if response.get("NextShardIterator"):
                self._iterators[shard_id] = response["NextShardIterator"]
            else:
                del self._iterators[shard_id]  # the shard is closed and read to its end
            if response["Records"]:
                found = True
                records = [_lambda_stream_record(record, self.mapping.source_arn) for record in response["Records"]]
                self._deliver(shard_id, records)
        if not found:
            self._size_when_caught_up = size
        return found

    def _deliver(self, shard_id: str, records: list[dict[str, Any]]) -> None:
        """Lambda's retry rules for a stream batch: retry from the first reported failure, split the batch in halves
        on a function error (splitting does not use up retries), then hand it to the on-failure destination."""
        pending = deque([(records, 0)])
        while pending and not self.stopping.is_set():
            batch, retries = pending.popleft()
            failed_from, function_error = self._invoke_batch(batch)
            if failed_from is None:
                continue
            remaining = batch[failed_from:]
            if function_error and self.mapping.bisect_on_error and len(remaining) > 1:
                half = len(remaining) // 2
                pending.extendleft([(remaining[half:], retries), (remaining[:half], retries)])
            elif self.mapping.maximum_retry_attempts is not None and retries >= self.mapping.maximum_retry_attempts:
                self._send_to_on_failure(shard_id, remaining, retries + 1, function_error)
            else:
                self.stopping.wait(min(0.05 * 2**retries, 1.0))
                pending.appendleft((remaining, retries + 1))

    def _invoke_batch(self, batch: list[dict[str, Any]]) -> tuple[int | None, bool]:
        """(index of the first failed record or None, whether the function itself failed)."""
        result, function_error = self.call({"Records": batch}, len(batch))
        if function_error:
            return 0, True
        if not self.mapping.report_item_failures:
            return None, False
        sequence_numbers = [record["dynamodb"]["SequenceNumber"] for record in batch]
        failed = _failed_identifiers(result, sequence_numbers)
        if failed is None:
            return 0, False
        return min((sequence_numbers.index(number) for number in failed), default=None), False

    def _send_to_on_failure(self, shard_id: str, records: list[dict[str, Any]], invocations: int,
                            function_error: bool) -> None:
        destination = self.mapping.on_failure_arn
        log.warning("%s: %d records failed after %d invocations; sending them to %s",
                    self.name, len(records), invocations, destination or "nowhere (no on-failure destination)")
        if not destination:
            return
        first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
        record = {
            "requestContext": {"requestId": str(uuid.uuid4()), "functionArn": self._function_arn,
                               "condition": "RetryAttemptsExhausted", "approximateInvokeCount": invocations},
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                                "functionError": "Unhandled" if function_error else None},
            "version": "1.0",
            "timestamp": _now_iso(),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso_seconds(first.get("ApproximateCreationDateTime")),
                "approximateArrivalOfLastRecord": _iso_seconds(last.get("ApproximateCreationDateTime")),
                "batchSize": len(records),
                "streamArn": self.mapping.source_arn,
            },
        }
        sqs = boto3.client("sqs")
        queue_url = sqs.get_queue_url(QueueName=destination.rsplit(":", 1)[1])["QueueUrl"]
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(record))


class QueuePump(_Pump):
    """Receives from one SQS queue and deletes what the consumer handled; failures reappear after the visibility
    timeout, and the queue's redrive policy moves them to its dead-letter queue."""

    def __init__(self, mapping: EventSourceMapping, invoke: Invoke) -> None:
        super().__init__(mapping.logical_id, invoke)
        self.mapping = mapping
        self._sqs = boto3.client("sqs")
        self._queue_url = self._sqs.get_queue_url(QueueName=mapping.source_arn.rsplit(":", 1)[1])["QueueUrl"]

    def poll_once(self) -> bool:
        if not moto_internals.visible_messages(self.mapping.source_arn):  # cheap, unlike an idle ReceiveMessage
            return False
        messages = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=min(self.mapping.batch_size, 10),
            WaitTimeSeconds=0,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return False
        result, function_error = self.call({"Records": [self._lambda_record(message) for message in messages]},
                                           len(messages))
        done = self._handled(messages, result, function_error)
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                         for index, message in enumerate(done)],
            )
        return True

    def _handled(self, messages: list[dict[str, Any]], result: Any, function_error: bool) -> list[dict[str, Any]]:
        if function_error:
            return []
        if not self.mapping.report_item_failures:
            return messages
        failed = _failed_identifiers(result, [message["MessageId"] for message in messages])
        if failed is None:
            return []
        return [message for message in messages if message["MessageId"] not in failed]

    def _lambda_record(self, message: dict[str, Any]) -> dict[str, Any]:
        record = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {name: _lambda_message_attribute(value)
                                  for name, value in message.get("MessageAttributes", {}).items()},
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self.mapping.source_arn,
            "awsRegion": REGION,
        }
        if "MD5OfMessageAttributes" in message:
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        return record


class Pumps:
    """All pumps of the stack."""

    def __init__(self) -> None:
        self._pumps: list[_Pump] = []

    def add(self, mapping: EventSourceMapping, invoke: Invoke, function_arn: str) -> None:
        pump = StreamPump(mapping, invoke, function_arn) if mapping.is_stream else QueuePump(mapping, invoke)
        self._pumps.append(pump)

    def add_stream_consumer(self, name: str, stream_arn: str, handler: Invoke, *, batch_size: int = 100,
                            maximum_retry_attempts: int = 0, report_item_failures: bool = False,
                            on_failure_arn: str | None = None) -> None:
        """An extra consumer of a stream, e.g. a test's probe; it reads from LATEST as of this call."""
        mapping = EventSourceMapping(name, name, stream_arn, batch_size, maximum_retry_attempts, False,
                                     report_item_failures, on_failure_arn)
        pump = StreamPump(mapping, handler, f"devstack:consumer:{name}")
        self._pumps.append(pump)
        pump.start()

    def start(self) -> None:
        for pump in self._pumps:
            if not pump.is_alive():
                pump.start()

    def stop(self) -> None:
        for pump in self._pumps:
            pump.stopping.set()
        for pump in self._pumps:
            pump.join(timeout=5)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every pump has polled and found nothing, with no delivery anywhere meanwhile (a consumer's
        writes may feed another stream); False if that did not happen within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            deliveries = sum(pump.deliveries for pump in self._pumps)
            marks = [(pump, pump.polls_started) for pump in self._pumps]
            while not all(pump.caught_up_since(mark) for pump, mark in marks):
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.01)
            if sum(pump.deliveries for pump in self._pumps) == deliveries:
                return True
        return False


def _iso_seconds(epoch: Any) -> str | None:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z") if epoch is not None else None


def _wire_value(value: dict[str, Any]) -> dict[str, Any]:
    """An AttributeValue as Lambda's event carries it: boto3 decoded binaries to bytes, the event has base64."""
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64encode(inner).decode("ascii")}
    if kind == "BS":
        return {"BS": [base64.b64encode(item).decode("ascii") for item in inner]}
    if kind == "M":
        return {"M": {name: _wire_value(item) for name, item in inner.items()}}
    if kind == "L":
        return {"L": [_wire_value(item) for item in inner]}
    return value


def _lambda_stream_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())  # Lambda gives epoch seconds
    for image in ("Keys", "NewImage", "OldImage"):
        if image in dynamodb:
            dynamodb[image] = {name: _wire_value(value) for name, value in dynamodb[image].items()}
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


def _lambda_message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    binary = value.get("BinaryValue")
    return {
        "stringValue": value.get("StringValue"),
        "binaryValue": base64.b64encode(binary).decode("ascii") if binary is not None else None,
        "stringListValues": value.get("StringListValues", []),
        "binaryListValues": [base64.b64encode(item).decode("ascii") for item in value.get("BinaryListValues", [])],
        "dataType": value["DataType"],
    }
