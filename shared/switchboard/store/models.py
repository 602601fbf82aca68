"""PynamoDB models of the five tables. Table names come from settings through ``bind`` at cold start."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from ..config import Settings

UNASSIGNED = "-"  # the assignee/team value of "nobody", so that "unassigned" is one index partition


def _index(name: str, hash_key: str, range_key: str | None) -> type[GlobalSecondaryIndex]:
    attrs: dict = {
        "Meta": type("Meta", (), {"index_name": name, "projection": AllProjection()}),
        hash_key: UnicodeAttribute(hash_key=True),
    }
    if range_key:
        attrs[range_key] = UnicodeAttribute(range_key=True)
    return type(f"{name}_index", (GlobalSecondaryIndex,), attrs)


# ------------------------------------------------------------------ directory
class DirectoryItem(Model):
    class Meta:
        table_name = "directory"

    pk = UnicodeAttribute(hash_key=True)  # tenant id
    sk = UnicodeAttribute(range_key=True)  # "tenant" | "operator#id" | "team#id" | "inbox#id"
    kind = DiscriminatorAttribute()
    name = UnicodeAttribute(null=True)
    by_inbox = _index("by_inbox", "inbox_id", None)()


class TenantItem(DirectoryItem, discriminator="tenant"):
    time_zone = UnicodeAttribute(default="UTC")


class OperatorItem(DirectoryItem, discriminator="operator"):
    email = UnicodeAttribute()
    role = UnicodeAttribute(default="operator")
    team_ids = ListAttribute(of=UnicodeAttribute, default=list)
    inbox_ids = ListAttribute(of=UnicodeAttribute, default=list)
    permissions = ListAttribute(of=UnicodeAttribute, default=list)


class TeamItem(DirectoryItem, discriminator="team"):
    pass


class ApiKeyItem(DirectoryItem, discriminator="api_key"):
    """sk = "apikey#<sha256 of the secret>": the key itself is never stored."""

    key_id = UnicodeAttribute()
    scopes = ListAttribute(of=UnicodeAttribute, default=list)
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute(null=True)


class SavedReplyItem(DirectoryItem, discriminator="saved_reply"):
    """sk = "reply#<scope>#<shortcut>", scope "tenant" or the owner's id: a shortcut is unique in its scope."""

    reply_id = UnicodeAttribute()
    owner_id = UnicodeAttribute(null=True)
    shortcut = UnicodeAttribute()
    text = UnicodeAttribute()
    position = NumberAttribute(default=1000)


class InboxItem(DirectoryItem, discriminator="inbox"):
    inbox_id = UnicodeAttribute()
    channel = UnicodeAttribute()
    default_team_id = UnicodeAttribute(null=True)
    settings = JSONAttribute(default=dict)
    secrets_ref = UnicodeAttribute(null=True)


# ------------------------------------------------------------------ conversations
class ConversationItem(Model):
    class Meta:
        table_name = "conversations"

    tenant_id = UnicodeAttribute(hash_key=True)
    conversation_id = UnicodeAttribute(range_key=True)
    inbox_id = UnicodeAttribute()
    contact_id = UnicodeAttribute()
    channel = UnicodeAttribute()
    status = UnicodeAttribute()
    assignee_id = UnicodeAttribute(default=UNASSIGNED)
    team_id = UnicodeAttribute(default=UNASSIGNED)
    created_at = UnicodeAttribute()
    last_activity_at = UnicodeAttribute()
    last_message = JSONAttribute(default=dict)
    unread_count = NumberAttribute(default=0)
    waiting_since = UnicodeAttribute(null=True)
    snoozed_until = UnicodeAttribute(null=True)
    snooze_version = NumberAttribute(default=0)
    woke_at = UnicodeAttribute(null=True)
    version = NumberAttribute(default=0)
    title = UnicodeAttribute(null=True)
    priority = UnicodeAttribute(default="normal")
    contact_name = UnicodeAttribute(null=True)
    source_id = UnicodeAttribute()
    tags = ListAttribute(of=UnicodeAttribute, default=list)
    participants = ListAttribute(of=UnicodeAttribute, default=list)
    request_type = UnicodeAttribute(null=True)
    reasons = ListAttribute(of=UnicodeAttribute, default=list)
    components = ListAttribute(of=UnicodeAttribute, default=list)
    operator_active_until = UnicodeAttribute(null=True)
    sla_due_at = UnicodeAttribute(null=True)
    # Composite index keys, always derived from the fields above by ConversationKeys.
    tenant_status = UnicodeAttribute()
    tenant_assignee = UnicodeAttribute()
    tenant_team = UnicodeAttribute()
    tenant_inbox = UnicodeAttribute()
    tenant_contact = UnicodeAttribute()
    activity_key = UnicodeAttribute()
    status_key = UnicodeAttribute()

    by_status = _index("by_status", "tenant_status", "activity_key")()
    by_assignee = _index("by_assignee", "tenant_assignee", "status_key")()
    by_team = _index("by_team", "tenant_team", "status_key")()
    by_inbox = _index("by_inbox", "tenant_inbox", "status_key")()
    by_contact = _index("by_contact", "tenant_contact", "activity_key")()


# ------------------------------------------------------------------ messages
class MessageItem(Model):
    """Messages live under ``tenant#conversation``; key items (dedupe, idempotency) share the table."""

    class Meta:
        table_name = "messages"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(default="message")  # message | ext_key | client_key | event | receipt
    tenant_id = UnicodeAttribute()
    conversation_id = UnicodeAttribute(null=True)
    message_id = UnicodeAttribute(null=True)
    type = UnicodeAttribute(null=True)
    text = UnicodeAttribute(null=True)
    attachments = JSONAttribute(null=True)
    author_id = UnicodeAttribute(null=True)
    author_name = UnicodeAttribute(null=True)
    external_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)
    failure_reason = UnicodeAttribute(null=True)
    reply_to_external_id = UnicodeAttribute(null=True)
    edited_at = UnicodeAttribute(null=True)
    deleted_at = UnicodeAttribute(null=True)
    forwarded_from = UnicodeAttribute(null=True)
    client_id = UnicodeAttribute(null=True)
    meta = JSONAttribute(null=True)
    created_at = UnicodeAttribute(null=True)
    inbox_id = UnicodeAttribute(null=True)
    channel = UnicodeAttribute(null=True)
    source_id = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)


class PaceItem(Model):
    """Send pacing counters; they share the messages table (TTL'd, ignored by the stream consumers)."""

    class Meta:
        table_name = "messages"

    pk = UnicodeAttribute(hash_key=True)  # "{tenant}#pace#{inbox}#{chat}" | "{tenant}#rate#{inbox}#{second}"
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(default="pace")
    next_at = NumberAttribute(null=True)
    sent = NumberAttribute(null=True)
    expires_at = NumberAttribute()


# ------------------------------------------------------------------ contacts
class ContactItem(Model):
    class Meta:
        table_name = "contacts"

    pk = UnicodeAttribute(hash_key=True)  # tenant id
    # "contact#id" | "identity#inbox#source" | "verified#phone#+4930…" (one contact per verified address)
    # | "lookup#email#ada@example.org#contact" (every contact with that address: merge suggestions, search)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    contact_id = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    username = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    language = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute(null=True)
    blocked = BooleanAttribute(default=False)
    identities = ListAttribute(null=True)  # on contacts: [{inbox_id, channel, source_id}]
    merged_into = UnicodeAttribute(null=True)  # a merged contact points at the one that absorbed it
    # identity items
    inbox_id = UnicodeAttribute(null=True)
    channel = UnicodeAttribute(null=True)
    source_id = UnicodeAttribute(null=True)
    open_conversation_id = UnicodeAttribute(null=True)
    reachable = BooleanAttribute(default=True)
    reachability_at = UnicodeAttribute(null=True)


# ------------------------------------------------------------------ websocket connections
class ConnectionItem(Model):
    class Meta:
        table_name = "connections"

    connection_id = UnicodeAttribute(hash_key=True)
    tenant_id = UnicodeAttribute()
    principal = UnicodeAttribute()  # "op#{operator}#{conn}" | "visitor#{inbox}#{visitor}#{conn}"
    operator_id = UnicodeAttribute(null=True)
    role = UnicodeAttribute(null=True)
    team_ids = ListAttribute(of=UnicodeAttribute, null=True)
    inbox_ids = ListAttribute(of=UnicodeAttribute, null=True)
    connected_at = UnicodeAttribute()
    expires_at = NumberAttribute()

    by_tenant = _index("by_tenant", "tenant_id", "principal")()


# ------------------------------------------------------------------ realtime catch-up feed
class ChangeItem(Model):
    class Meta:
        table_name = "changes"

    feed = UnicodeAttribute(hash_key=True)  # "{tenant}#{YYYY-MM-DDTHH}"
    seq = UnicodeAttribute(range_key=True)  # "{ISO time with ms}#{ulid}": sorts as the events happened
    payload = JSONAttribute()
    team_id = UnicodeAttribute(null=True)
    inbox_id = UnicodeAttribute(null=True)
    assignee_id = UnicodeAttribute(null=True)
    expires_at = NumberAttribute()


MODELS: dict[str, type[Model]] = {
    "directory_table": DirectoryItem,
    "conversations_table": ConversationItem,
    "messages_table": MessageItem,
    "pace_table": PaceItem,
    "contacts_table": ContactItem,
    "connections_table": ConnectionItem,
    "changes_table": ChangeItem,
}


def bind(settings: Settings) -> None:
    """Point every model at its physical table. Called once per process by the composition root."""
    for setting, model in MODELS.items():
        model.Meta.table_name = getattr(settings, "messages_table" if setting == "pace_table" else setting)
        model.Meta.region = settings.region
        model.Meta.max_retry_attempts = 3
        for cls in (model, *model.__subclasses__()):
            cls._connection = None
