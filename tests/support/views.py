"""The list views in service tests: what the reactions consumer does in the stack, done in-process right before a read.

Service tests have no stream pumps. ``FollowedViews`` is the real ViewStore, except that each read first hands every
new record of the Conversations table's stream (in-process moto) to ``ConversationLists.project``, exactly as the
deployed consumer would have by then.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3

from switchboard.store.streams import Change, parse_record
from switchboard.store.views import ViewStore


class StreamFollower:
    """Reads one table's stream from its start, handing each record over once."""

    def __init__(self, table_name: str, consume: Callable[[Change], None]) -> None:
        self._consume = consume
        self._streams = boto3.client("dynamodbstreams")
        self._arn = boto3.client("dynamodb").describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
        shards = self._streams.describe_stream(StreamArn=self._arn)["StreamDescription"]["Shards"]
        self._iterators = {shard["ShardId"]: self._streams.get_shard_iterator(
            StreamArn=self._arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            for shard in shards}

    def drain(self) -> int:
        """Hand over every record written since the last drain; how many there were."""
        handed = 0
        for shard_id, iterator in list(self._iterators.items()):
            while iterator:
                answer = self._streams.get_records(ShardIterator=iterator)
                iterator = answer.get("NextShardIterator")
                self._iterators[shard_id] = iterator
                for record in answer["Records"]:
                    change = parse_record({**record, "eventSourceARN": self._arn})
                    if change is not None:
                        self._consume(change)
                        handed += 1
                if not answer["Records"]:
                    break
        return handed


class FollowedViews(ViewStore):
    """A ViewStore whose reads first catch up with the stream."""

    def __init__(self, client: Any, table_name: str, catch_up: Callable[[], Any]) -> None:
        super().__init__(client, table_name)
        self._catch_up = catch_up

    def page(self, *args: Any, **kwargs: Any) -> Any:
        self._catch_up()
        return super().page(*args, **kwargs)

    def tallies(self, *args: Any, **kwargs: Any) -> Any:
        self._catch_up()
        return super().tallies(*args, **kwargs)


def follow_views(services: Any, env: dict[str, str]) -> StreamFollower:
    """Give ``services`` views kept current from the conversations stream (before anything reads them)."""
    follower = StreamFollower(env["CONVERSATIONS_TABLE"], lambda change: services.conversation_lists.project(change))
    services.views = FollowedViews(boto3.client("dynamodb"), env["VIEWS_TABLE"], follower.drain)
    return follower
