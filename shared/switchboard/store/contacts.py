"""Contacts and their identities (one per inbox and platform address)."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.errors import NotFound
from .keys import contact_sk, identity_sk, verified_sk
from .models import ContactItem


@dataclass(frozen=True)
class IdentityRecord:
    tenant_id: str
    inbox_id: str
    source_id: str
    contact_id: str
    open_conversation_id: str | None
    reachable: bool
    contact_name: str | None


class ContactStore:
    def identity(self, tenant_id: str, inbox_id: str, source_id: str) -> IdentityRecord | None:
        try:
            item = ContactItem.get(tenant_id, identity_sk(inbox_id, source_id), consistent_read=True)
        except ContactItem.DoesNotExist:
            return None
        return IdentityRecord(
            tenant_id=tenant_id, inbox_id=inbox_id, source_id=source_id, contact_id=item.contact_id,
            open_conversation_id=item.open_conversation_id, reachable=item.reachable, contact_name=item.name,
        )

    def claimed(self, tenant_id: str, kind: str, value: str) -> str | None:
        """The contact a verified phone or e-mail belongs to, if any."""
        try:
            return ContactItem.get(tenant_id, verified_sk(kind, value), consistent_read=True).contact_id
        except ContactItem.DoesNotExist:
            return None

    def with_address(self, tenant_id: str, kind: str, value: str) -> list[str]:
        """Every contact that gave this phone or e-mail, verified or not (merge suggestions, search)."""
        query = ContactItem.query(tenant_id, ContactItem.sk.startswith(f"lookup#{kind}#{value}#"))
        return [item.contact_id for item in query]

    def contact(self, tenant_id: str, contact_id: str) -> ContactItem:
        try:
            return ContactItem.get(tenant_id, contact_sk(contact_id))
        except ContactItem.DoesNotExist:
            raise NotFound("No such contact.") from None

    def set_reachable(self, tenant_id: str, inbox_id: str, source_id: str, reachable: bool, at: str) -> bool:
        """Record that the platform can (not) reach this identity; older news never overwrites newer."""
        from pynamodb.exceptions import UpdateError

        item = ContactItem(tenant_id, identity_sk(inbox_id, source_id))
        condition = ContactItem.sk.exists() & (
            ContactItem.reachability_at.does_not_exist() | (ContactItem.reachability_at <= at)
        )
        try:
            item.update(
                actions=[ContactItem.reachable.set(reachable), ContactItem.reachability_at.set(at)],
                condition=condition,
            )
        except UpdateError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                return False
            raise
        return True
