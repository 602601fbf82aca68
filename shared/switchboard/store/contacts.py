"""Contacts and their identities (one per inbox and platform address)."""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import UpdateError

from ..domain.errors import NotFound
from .contact_cards import lookup_item, searchable
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
    last_conversation_id: str | None = None
    last_resolved_at: str | None = None
    blocked: bool = False  # copied from the contact: its messages are kept hidden, opening no conversation


class ContactStore:
    def identity(self, tenant_id: str, inbox_id: str, source_id: str) -> IdentityRecord | None:
        try:
            item = ContactItem.get(tenant_id, identity_sk(inbox_id, source_id), consistent_read=True)
        except ContactItem.DoesNotExist:
            return None
        return IdentityRecord(
            tenant_id=tenant_id, inbox_id=inbox_id, source_id=source_id, contact_id=item.contact_id,
            open_conversation_id=item.open_conversation_id, reachable=item.reachable, contact_name=item.name,
            last_conversation_id=item.last_conversation_id, last_resolved_at=item.last_resolved_at,
            blocked=bool(item.blocked),
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

    def name_if_unnamed(self, tenant_id: str, contact_id: str, inbox_id: str, source_id: str, name: str,
                        username: str | None) -> None:
        """Give a contact (and its identity) the name its platform told us, unless someone already named it."""
        actions = [ContactItem.name.set(name)] + ([ContactItem.username.set(username)] if username else [])
        named = [self._name_if_unnamed(item, actions) for item in (
            ContactItem(tenant_id, contact_sk(contact_id)), ContactItem(tenant_id, identity_sk(inbox_id, source_id)))]
        if named[0]:  # the card took the name: it is found by it
            for kind, value in searchable(name, None, None):
                lookup_item(tenant_id, kind, value, contact_id).save()

    @staticmethod
    def _name_if_unnamed(item: ContactItem, actions: list) -> bool:
        try:
            item.update(actions=actions, condition=ContactItem.sk.exists() & ContactItem.name.does_not_exist())
        except UpdateError as exc:
            if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def absorb(self, keep: ContactItem, other: ContactItem) -> None:
        """The store half of a merge: identities and verified addresses move to ``keep``, gaps in its card are
        filled from ``other``, and ``other`` keeps only a pointer. Every step can be repeated safely."""
        tenant = keep.pk
        moved = [entry for entry in other.identities or [] if entry not in (keep.identities or [])]
        for entry in other.identities or []:  # the kept card's blocked flag now applies to them too
            identity = ContactItem(tenant, identity_sk(entry["inbox_id"], entry["source_id"]))
            identity.update(actions=[ContactItem.contact_id.set(keep.contact_id),
                                     ContactItem.blocked.set(bool(keep.blocked))])
        # Found by either one's phone and e-mail (merge suggestions), and by the name it takes if it had none.
        for kind, value in searchable(None if keep.name else other.name, other.phone, other.email):
            lookup_item(tenant, kind, value, keep.contact_id).save()
        for kind in ("phone", "email"):
            value = getattr(other, kind)
            if value and self.claimed(tenant, kind, value) == other.contact_id:  # it moves with its owner
                ContactItem(tenant, verified_sk(kind, value)).update(
                    actions=[ContactItem.contact_id.set(keep.contact_id)])
        fill = [getattr(ContactItem, name).set(getattr(other, name)) for name in ("name", "username", "phone",
                "email", "language") if getattr(other, name) and not getattr(keep, name)]
        actions = fill + ([ContactItem.identities.set(ContactItem.identities.append(moved))] if moved else [])
        # Their notes, events and hidden messages stay where they are; the kept card lists whose to read too.
        absorbed = [cid for cid in (other.contact_id, *(other.absorbed or [])) if cid not in (keep.absorbed or [])]
        if absorbed:
            actions.append(ContactItem.absorbed.set((ContactItem.absorbed | []).append(absorbed)))
        if actions:
            keep.update(actions=actions)
        other.update(actions=[ContactItem.merged_into.set(keep.contact_id), ContactItem.identities.set([])])
