"""Partial batch responses: only failed records are retried, and a stream keeps its order."""

from switchboard.batches import process


def stream_record(sequence: str) -> dict:
    return {"eventSource": "aws:dynamodb", "dynamodb": {"SequenceNumber": sequence}}


def queue_record(message_id: str) -> dict:
    return {"eventSource": "aws:sqs", "messageId": message_id}


def failing_on(bad: set[str], key):
    handled = []

    def handle(record):
        if key(record) in bad:
            raise RuntimeError("boom")
        handled.append(key(record))

    return handle, handled


def test_a_stream_batch_stops_at_the_first_failure_so_later_records_keep_their_order():
    key = lambda record: record["dynamodb"]["SequenceNumber"]  # noqa: E731
    handle, handled = failing_on({"2"}, key)
    errors = []
    result = process([stream_record(s) for s in "1234"], handle, key, lambda record, exc: errors.append(exc))
    assert handled == ["1"]
    assert result == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    assert len(errors) == 1


def test_a_queue_batch_reports_each_failure_and_handles_the_rest():
    key = lambda record: record["messageId"]  # noqa: E731
    handle, handled = failing_on({"b", "d"}, key)
    result = process([queue_record(m) for m in "abcd"], handle, key, lambda record, exc: None)
    assert handled == ["a", "c"]
    assert result == {"batchItemFailures": [{"itemIdentifier": "b"}, {"itemIdentifier": "d"}]}


def test_stream_records_of_bookkeeping_items_are_skipped_not_failed():
    from switchboard.store.streams import parse_record

    def record(image: dict) -> dict:
        return {"eventName": "MODIFY", "eventSourceARN": "arn:aws:dynamodb:r:1:table/messages/stream/x",
                "dynamodb": {"NewImage": image, "SequenceNumber": "1"}}

    pacing = {"pk": {"S": "t#pace#inbox#chat"}, "sk": {"S": "chat"}, "next_at": {"N": "1"}}
    assert parse_record(record(pacing)) is None
    assert parse_record(record({**pacing, "kind": {"S": "pace"}})) is None
