"""Creates the template's DynamoDB tables in an in-process moto, for service tests that need no full stack."""

from __future__ import annotations

from pathlib import Path

import boto3
from samtranslator.yaml_helper import yaml_parse

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"

TABLE_SETTINGS = {
    "DirectoryTable": "DIRECTORY_TABLE",
    "ConversationsTable": "CONVERSATIONS_TABLE",
    "MessagesTable": "MESSAGES_TABLE",
    "ContactsTable": "CONTACTS_TABLE",
    "ConnectionsTable": "CONNECTIONS_TABLE",
    "ChangesTable": "CHANGES_TABLE",
    "ViewsTable": "VIEWS_TABLE",
    "NotificationsTable": "NOTIFICATIONS_TABLE",
    "TasksTable": "TASKS_TABLE",
}


def create_tables(region: str = "us-east-1") -> dict[str, str]:
    """Create every table exactly as template.yaml declares it; returns the settings naming them."""
    resources = yaml_parse(TEMPLATE.read_text())["Resources"]
    client = boto3.client("dynamodb", region_name=region)
    env = {}
    for logical_id, setting in TABLE_SETTINGS.items():
        props = dict(resources[logical_id]["Properties"])
        name = f"test-{logical_id}"
        kwargs = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if "GlobalSecondaryIndexes" in props:
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if "StreamSpecification" in props:
            kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        client.create_table(**kwargs)
        env[setting] = name
    return env
