"""The embedded moto's indexed base-table Queries answer exactly as DynamoDB does: key conditions, ExclusiveStartKey,
ScanIndexForward, Limit (items evaluated, before the filter), ScannedCount, LastEvaluatedKey and the 1 MB page."""

from __future__ import annotations

import random

import boto3
import pytest
from moto import mock_aws

from infra.devstack.moto_internals import make_dynamodb_queries_indexed
from infra.devstack.moto_queries import SortedPartition
from tests.unit.conftest import AWS_ENV

PARTITIONS = ["t1#open", "t1#resolved", "t2#open"]
# Strings that sort differently by code point than by locale or case, and a common prefix for begins_with.
WORDS = ["2026-01-01", "2026-01-02", "2026-01-10", "2026-02", "Zulu", "alpha", "alphabet", "alpine", "ä", "€", "z"]


@pytest.fixture
def dynamodb(monkeypatch):
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    make_dynamodb_queries_indexed()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                  {"AttributeName": "sk", "AttributeType": "S"}],
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                       {"AttributeName": "sk", "KeyType": "RANGE"}])
        client.create_table(TableName="n", BillingMode="PAY_PER_REQUEST",
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                  {"AttributeName": "n", "AttributeType": "N"}],
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                       {"AttributeName": "n", "KeyType": "RANGE"}])
        yield client


def fill(client, rng: random.Random) -> list[dict]:
    items = []
    for number in range(300):
        sk = f"{rng.choice(WORDS)}#{number:04d}"
        item = {"pk": rng.choice(PARTITIONS), "sk": sk, "colour": rng.choice(["red", "blue"])}
        items.append(item)
        client.put_item(TableName="t", Item={name: {"S": value} for name, value in item.items()})
    return items


def reference(items, pk, condition, forward):
    name, values = condition
    tests = {
        None: lambda sk: True,
        "=": lambda sk: sk == values[0],
        "<": lambda sk: sk < values[0],
        "<=": lambda sk: sk <= values[0],
        ">": lambda sk: sk > values[0],
        ">=": lambda sk: sk >= values[0],
        "between": lambda sk: values[0] <= sk <= values[1],
        "begins_with": lambda sk: sk.startswith(values[0]),
    }
    found = sorted((item for item in items if item["pk"] == pk and tests[name](item["sk"])), key=lambda i: i["sk"])
    return found if forward else found[::-1]


def key_condition(name, values):
    expression = {
        None: "pk = :pk", "=": "pk = :pk AND sk = :a", "<": "pk = :pk AND sk < :a", "<=": "pk = :pk AND sk <= :a",
        ">": "pk = :pk AND sk > :a", ">=": "pk = :pk AND sk >= :a", "between": "pk = :pk AND sk BETWEEN :a AND :b",
        "begins_with": "pk = :pk AND begins_with(sk, :a)",
    }[name]
    return expression, {f":{letter}": {"S": value} for letter, value in zip("ab", values, strict=False)}


def random_condition(rng: random.Random, items: list[dict]):
    name = rng.choice([None, "=", "<", "<=", ">", ">=", "between", "begins_with"])
    if name is None:
        return name, []
    if name == "=":
        return name, [rng.choice(items)["sk"]]
    if name == "between":
        return name, sorted([rng.choice(WORDS), rng.choice(WORDS)])
    if name == "begins_with":
        return name, [rng.choice(["alp", "2026-01", "alpha", "z", "\u20ac"])]
    return name, [rng.choice(WORDS)]


def test_every_page_of_random_queries_is_what_dynamodb_returns(dynamodb):
    rng = random.Random(20260720)
    items = fill(dynamodb, rng)
    for _ in range(100):
        pk, forward, limit = rng.choice(PARTITIONS), rng.random() < 0.5, rng.choice([1, 2, 5, 17, 100, None])
        condition = random_condition(rng, items)
        expected = reference(items, pk, condition, forward)
        expression, values = key_condition(*condition)
        kwargs = {"TableName": "t", "KeyConditionExpression": expression, "ScanIndexForward": forward,
                  "ExpressionAttributeValues": {":pk": {"S": pk}, ":red": {"S": "red"}, **values},
                  "FilterExpression": "colour = :red"}
        if limit is not None:
            kwargs["Limit"] = limit
        position, seen = 0, []
        while True:
            answer = dynamodb.query(**kwargs)
            page = expected[position:position + limit] if limit else expected
            assert answer["ScannedCount"] == len(page)
            assert [i["sk"]["S"] for i in answer["Items"]] == [i["sk"] for i in page if i["colour"] == "red"]
            assert answer["Count"] == len(answer["Items"])
            seen += page
            # DynamoDB stops at the limit and says where, even when nothing follows.
            assert ("LastEvaluatedKey" in answer) == (limit is not None and len(page) == limit)
            if "LastEvaluatedKey" not in answer:
                break
            assert answer["LastEvaluatedKey"] == {"pk": {"S": pk}, "sk": {"S": page[-1]["sk"]}}
            kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
            position += limit
        assert seen == expected  # the pages together read the whole key range once


def test_writes_after_the_first_query_keep_the_partition_in_order(dynamodb):
    def put(sk):
        dynamodb.put_item(TableName="t", Item={"pk": {"S": "p"}, "sk": {"S": sk}})

    def keys(**extra):
        return [i["sk"]["S"] for i in dynamodb.query(TableName="t", KeyConditionExpression="pk = :p",
                                                     ExpressionAttributeValues={":p": {"S": "p"}}, **extra)["Items"]]

    for sk in ("b", "d", "f"):
        put(sk)
    assert keys() == ["b", "d", "f"]
    put("a")
    put("e")
    put("d")  # an overwrite is not a second key
    dynamodb.delete_item(TableName="t", Key={"pk": {"S": "p"}, "sk": {"S": "b"}})
    dynamodb.transact_write_items(TransactItems=[
        {"Put": {"TableName": "t", "Item": {"pk": {"S": "p"}, "sk": {"S": "c"}}}},
        {"Delete": {"TableName": "t", "Key": {"pk": {"S": "p"}, "sk": {"S": "f"}}}},
    ])
    assert keys() == ["a", "c", "d", "e"]
    assert keys(ScanIndexForward=False, Limit=2) == ["e", "d"]


def test_a_query_reads_only_its_partition_from_the_sorted_keys(dynamodb):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    for number in range(50):
        dynamodb.put_item(TableName="t", Item={"pk": {"S": f"other{number % 5}"}, "sk": {"S": f"{number:03d}"}})
        dynamodb.put_item(TableName="t", Item={"pk": {"S": "mine"}, "sk": {"S": f"{number:03d}"}})
    answer = dynamodb.query(TableName="t", KeyConditionExpression="pk = :p AND sk > :s", Limit=3,
                            ExpressionAttributeValues={":p": {"S": "mine"}, ":s": {"S": "045"}})
    assert [i["sk"]["S"] for i in answer["Items"]] == ["046", "047", "048"] and answer["ScannedCount"] == 3
    table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_table("t")
    partitions = {key.value: type(value) for key, value in table.items.items()}
    assert partitions["mine"] is SortedPartition  # the query used the sorted keys
    assert all(kind is dict for name, kind in partitions.items() if name != "mine")  # and left the others alone


def test_number_range_keys_sort_by_value(dynamodb):
    for number in (10, 9, -1, 2.5, 100):
        dynamodb.put_item(TableName="n", Item={"pk": {"S": "p"}, "n": {"N": str(number)}})
    answer = dynamodb.query(TableName="n", KeyConditionExpression="pk = :p AND n >= :low",
                            ExpressionAttributeValues={":p": {"S": "p"}, ":low": {"N": "2.5"}})
    assert [i["n"]["N"] for i in answer["Items"]] == ["2.5", "9", "10", "100"]


def test_a_page_stops_at_one_megabyte_and_says_where(dynamodb):
    blob = "x" * 300_000
    for number in range(5):
        dynamodb.put_item(TableName="t", Item={"pk": {"S": "big"}, "sk": {"S": str(number)}, "blob": {"S": blob}})
    first = dynamodb.query(TableName="t", KeyConditionExpression="pk = :p",
                           ExpressionAttributeValues={":p": {"S": "big"}})
    assert first["ScannedCount"] == 3 and first["LastEvaluatedKey"]["sk"] == {"S": "2"}
    rest = dynamodb.query(TableName="t", KeyConditionExpression="pk = :p", ExclusiveStartKey=first["LastEvaluatedKey"],
                          ExpressionAttributeValues={":p": {"S": "big"}})
    assert [i["sk"]["S"] for i in rest["Items"]] == ["3", "4"] and "LastEvaluatedKey" not in rest


def test_a_missing_partition_is_an_empty_answer(dynamodb):
    answer = dynamodb.query(TableName="t", KeyConditionExpression="pk = :p", Limit=5,
                            ExpressionAttributeValues={":p": {"S": "nobody"}})
    assert answer["Items"] == [] and answer["ScannedCount"] == 0 and "LastEvaluatedKey" not in answer
