"""Composite key values. Index keys are derived here and nowhere else, so every writer agrees on them."""

from __future__ import annotations

from .models import UNASSIGNED


def conversation_index_keys(
    *, tenant_id: str, conversation_id: str, status: str, assignee_id: str | None, team_id: str | None,
    inbox_id: str, contact_id: str, activity_at: str,
) -> dict[str, str]:
    return {
        "tenant_status": f"{tenant_id}#{status}",
        "tenant_assignee": f"{tenant_id}#{assignee_id or UNASSIGNED}",
        "tenant_team": f"{tenant_id}#{team_id or UNASSIGNED}",
        "tenant_inbox": f"{tenant_id}#{inbox_id}",
        "tenant_contact": f"{tenant_id}#{contact_id}",
        "activity_key": activity_key(activity_at, conversation_id),
        "status_key": status_key(status, activity_at, conversation_id),
    }


def activity_key(activity_at: str, conversation_id: str) -> str:
    return f"{activity_at}#{conversation_id}"


def status_key(status: str, activity_at: str, conversation_id: str) -> str:
    return f"{status}#{activity_at}#{conversation_id}"


def message_pk(tenant_id: str, conversation_id: str) -> str:
    return f"{tenant_id}#{conversation_id}"


def external_key_pk(tenant_id: str, inbox_id: str, external_id: str) -> str:
    return f"{tenant_id}#ext#{inbox_id}#{external_id}"


def client_key_pk(tenant_id: str, conversation_id: str, client_id: str) -> str:
    return f"{tenant_id}#client#{conversation_id}#{client_id}"


def event_key_pk(tenant_id: str, inbox_id: str, event_id: str) -> str:
    return f"{tenant_id}#event#{inbox_id}#{event_id}"


def identity_sk(inbox_id: str, source_id: str) -> str:
    return f"identity#{inbox_id}#{source_id}"


def contact_sk(contact_id: str) -> str:
    return f"contact#{contact_id}"


def verified_sk(kind: str, value: str) -> str:
    return f"verified#{kind}#{value}"


def lookup_sk(kind: str, value: str, contact_id: str) -> str:
    return f"lookup#{kind}#{value}#{contact_id}"


def contact_note_sk(contact_id: str, note_id: str) -> str:
    return f"note#{contact_id}#{note_id}"


def contact_events_pk(tenant_id: str, contact_id: str) -> str:
    """A contact's events (page views, custom events) in the messages table, one partition per contact."""
    return f"{tenant_id}#contact#{contact_id}"


def contact_event_key_pk(tenant_id: str, event_id: str) -> str:
    """Claims a tenant system's event id, so a retried event is stored once."""
    return f"{tenant_id}#cevent#{event_id}"


# ------------------------------------------------------------------ the views table (store/views.py)
def posting_pk(tenant_id: str, facet: str, scope: str, status: str) -> str:
    """One list partition: e.g. ``{tenant}#unanswered#team:{id}#open``."""
    return f"{tenant_id}#{facet}#{scope}#{status}"


def posting_sk(sort: str, conversation_id: str) -> str:
    """Sorts by time; the id keeps equal times apart and makes the key unique."""
    return f"{sort}#{conversation_id}"


def tally_pk(tenant_id: str, facet: str, status: str, holder: str) -> str:
    """One counter item, in a partition of its own so counters never contend with list pages."""
    return f"{tenant_id}#count#{facet}#{status}#{holder}"


def applied_pk(tenant_id: str, conversation_id: str) -> str:
    """How far the views have applied a conversation's stream records: the guard against applying one twice."""
    return f"{tenant_id}#applied#{conversation_id}"
