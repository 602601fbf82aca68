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
    auto_assign = BooleanAttribute(default=False)  # round robin hands out the team's unassigned conversations
    assignment_cap = NumberAttribute(null=True)  # open conversations per operator round robin fills up to
    last_assigned_id = UnicodeAttribute(null=True)  # whose turn it was last (store/distribution.py)


class WorkloadItem(DirectoryItem, discriminator="workload"):
    """sk = "workload#<operator id>": an operator's availability, and the claim round robin takes before it gives
    them a conversation, so concurrent assigners never exceed the team's cap (store/distribution.py)."""

    availability = UnicodeAttribute(default="available")
    seq = NumberAttribute(default=0)
    claims = JSONAttribute(default=list)  # [[conversation id, epoch seconds]] handed out in the last seconds


class SlaPoliciesItem(DirectoryItem, discriminator="sla_policies"):
    """sk = "sla_policies": the tenant's ordered SLA policies in one item, so a PUT replaces them at once."""

    policies = JSONAttribute(default=list)
    updated_by = UnicodeAttribute(null=True)


class RoutingRulesItem(DirectoryItem, discriminator="routing_rules"):
    """sk = "routing_rules": the tenant's ordered routing rules in one item, so a PUT replaces them at once."""

    rules = JSONAttribute(default=list)
    updated_by = UnicodeAttribute(null=True)


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


class TagItem(DirectoryItem, discriminator="tag"):
    """sk = "tag#<name>": the tenant's tag catalogue, one item per tag; it only grows."""

    created_at = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute(null=True)


class CatalogueItem(DirectoryItem, discriminator="catalogue"):
    """sk = "catalogue#request_types" | "catalogue#reasons" | "catalogue#components": the dialog settings."""

    values = ListAttribute(of=UnicodeAttribute, default=list)
    updated_by = UnicodeAttribute(null=True)


class BusinessHoursItem(DirectoryItem, discriminator="business_hours"):
    """sk = "business_hours": when the tenant is open (domain.business_hours.BusinessHours.to_dict)."""

    config = JSONAttribute()
    updated_by = UnicodeAttribute(null=True)


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
    # Who made the change that produced ``changed_by_version``: valid only while that is still the current version,
    # so a later write by a customer message or a timer (which does not set it) is never attributed to them.
    changed_by = UnicodeAttribute(null=True)
    changed_by_version = NumberAttribute(null=True)
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
    sla_state = UnicodeAttribute(null=True)  # none | warning | breached (domain/sla.py)
    sla_version = NumberAttribute(default=0)  # the SLA timer's guard (infra/statemachines/sla.asl.json)
    sla = JSONAttribute(null=True)  # the SLA clocks and their record (domain.sla.SlaState)
    sla_alert = UnicodeAttribute(null=True)  # written only by the SLA timer
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
    # | "lookup#name#ada#contact" (one per word of the name: search by name prefix) | "note#contact#ulid"
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
    absorbed = ListAttribute(of=UnicodeAttribute, null=True)  # ids merged into this one: their notes and events
    attributes = JSONAttribute(null=True)  # free key -> value (plan=gold, customer_id=…)
    tags = ListAttribute(of=UnicodeAttribute, null=True)  # the contact's own tags, not its conversations'
    # note items ("note#contact#ulid")
    text = UnicodeAttribute(null=True)
    author_id = UnicodeAttribute(null=True)
    author_name = UnicodeAttribute(null=True)
    # identity items
    inbox_id = UnicodeAttribute(null=True)
    channel = UnicodeAttribute(null=True)
    source_id = UnicodeAttribute(null=True)
    open_conversation_id = UnicodeAttribute(null=True)
    last_conversation_id = UnicodeAttribute(null=True)  # the one resolved last, and when
    last_resolved_at = UnicodeAttribute(null=True)
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
    participants = ListAttribute(of=UnicodeAttribute, null=True)
    expires_at = NumberAttribute()


# ------------------------------------------------------------------ operator notifications
class NotificationItem(Model):
    """An operator's notifications, the keys that make each happen once, and their notification preferences."""

    class Meta:
        table_name = "notifications"

    pk = UnicodeAttribute(hash_key=True)  # "{tenant}#{operator}"
    sk = UnicodeAttribute(range_key=True)  # "n#{created_at}#{key}" | "key#{key}" | "preferences"
    kind = UnicodeAttribute()  # notification | key | preferences
    key = UnicodeAttribute(null=True)
    event = UnicodeAttribute(null=True)
    conversation_id = UnicodeAttribute(null=True)
    title = UnicodeAttribute(null=True)
    body = UnicodeAttribute(null=True)
    actor_id = UnicodeAttribute(null=True)
    channels = ListAttribute(of=UnicodeAttribute, null=True)
    created_at = UnicodeAttribute(null=True)
    read_at = UnicodeAttribute(null=True)
    unread_pk = UnicodeAttribute(null=True)  # = pk while unread: the sparse index the badge counts
    emailed_at = UnicodeAttribute(null=True)  # on key items: the e-mail was claimed (sent, or being sent)
    preferences = JSONAttribute(null=True)
    expires_at = NumberAttribute(null=True)

    unread = _index("unread", "unread_pk", "sk")()


# ------------------------------------------------------------------ tasks
class TaskItem(Model):
    """Tasks (sk "task#<id>"), the tenant's task number counter (sk "counter") and client-id keys (sk
    "client#<id>") that make a retried create store one task. Index keys are derived in store/tasks.py; the counter
    and key items carry none, so they appear in no index."""

    class Meta:
        table_name = "tasks"

    pk = UnicodeAttribute(hash_key=True)  # tenant id
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()  # task | counter | client_key
    task_id = UnicodeAttribute(null=True)
    number = NumberAttribute(null=True)
    title = UnicodeAttribute(null=True)
    description = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)
    deadline = UnicodeAttribute(null=True)
    assignee_id = UnicodeAttribute(null=True)
    team_id = UnicodeAttribute(null=True)
    conversation_id = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    overdue_at = UnicodeAttribute(null=True)  # set by the deadline state machine
    deadline_version = NumberAttribute(null=True)
    version = NumberAttribute(null=True)
    changed_by = UnicodeAttribute(null=True)
    last_number = NumberAttribute(null=True)  # on the counter item
    tenant_state = UnicodeAttribute(null=True)
    tenant_assignee = UnicodeAttribute(null=True)
    tenant_team = UnicodeAttribute(null=True)
    tenant_conversation = UnicodeAttribute(null=True)  # sparse: only tasks linked to a conversation
    due_key = UnicodeAttribute(null=True)

    by_state = _index("by_state", "tenant_state", "due_key")()
    by_assignee = _index("by_assignee", "tenant_assignee", "due_key")()
    by_team = _index("by_team", "tenant_team", "due_key")()
    by_conversation = _index("by_conversation", "tenant_conversation", "due_key")()


MODELS: dict[str, type[Model]] = {
    "directory_table": DirectoryItem,
    "conversations_table": ConversationItem,
    "messages_table": MessageItem,
    "pace_table": PaceItem,
    "contacts_table": ContactItem,
    "connections_table": ConnectionItem,
    "changes_table": ChangeItem,
    "notifications_table": NotificationItem,
    "tasks_table": TaskItem,
}


def bind(settings: Settings) -> None:
    """Point every model at its physical table. Called once per process by the composition root."""
    for setting, model in MODELS.items():
        model.Meta.table_name = getattr(settings, "messages_table" if setting == "pace_table" else setting)
        model.Meta.region = settings.region
        model.Meta.max_retry_attempts = 3
        for cls in (model, *model.__subclasses__()):
            cls._connection = None
