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
