"""The few places the devstack reads the embedded moto's backends directly instead of through its API: what the API
cannot tell, cheap checks that keep idle polling from costing most of a CPU core, and housekeeping moto skips.
If a moto upgrade breaks the devstack, look here first."""

from __future__ import annotations

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
