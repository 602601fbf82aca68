"""Writing contact cards: an edit together with the lookup keys search reads, the blocked flag copied onto every
identity (where ingest reads it), notes; and reading the lookup keys for search."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.expressions.condition import size

from ..domain.contact import name_words
from ..domain.errors import BadRequest, Conflict
from .keys import contact_note_sk, contact_sk, identity_sk, lookup_sk
from .models import ContactItem
from .pages import decode_cursor, encode_cursor
from .writes import TransactionRunner, TxOp

MAX_TRANSACTION = 100  # DynamoDB's limit on items in one transaction


def searchable(name: str | None, phone: str | None, email: str | None) -> set[tuple[str, str]]:
    """The (kind, value) lookup keys a card with these fields is found by: each word of its name, its phone and
    its e-mail. Every writer of a card derives its keys here, so search and merge suggestions agree."""
    keys = {("name", word) for word in name_words(name)}
    return keys | {(kind, value) for kind, value in (("phone", phone), ("email", email)) if value}


def lookup_item(tenant_id: str, kind: str, value: str, contact_id: str) -> ContactItem:
    return ContactItem(tenant_id, lookup_sk(kind, value, contact_id), kind="lookup", contact_id=contact_id)


@dataclass(frozen=True)
class Note:
    id: str
    text: str
    author_id: str | None
    author_name: str | None
    created_at: str


@dataclass(frozen=True)
class LookupPage:
    hits: list[tuple[str, str]]  # (the looked-up value, e.g. a name word; the contact id), in key order
    cursor: str | None


class ContactCardStore:
    def __init__(self, runner: TransactionRunner) -> None:
        self._runner = runner

    # ------------------------------------------------------------ edits
    def update(self, contact: ContactItem, values: dict[str, Any]) -> bool:
        """Write ``values`` (attribute name -> value, None removes it) with the lookup keys that follow from the new
        name, phone and e-mail, and the new name on every identity (new conversations take it from there), in one
        transaction. False when the card changed since ``contact`` was read: the caller reads it again."""
        tenant, contact_id = contact.pk, contact.contact_id
        after = {name: values.get(name, getattr(contact, name)) for name in ("name", "phone", "email")}
        before = searchable(contact.name, contact.phone, contact.email)
        wanted = searchable(after["name"], after["phone"], after["email"])
        ops: list[TxOp] = [self._update_card(contact, values)]
        for kind, value in before - wanted:
            stale = lookup_item(tenant, kind, value, contact_id)
            ops.append(lambda tx, stale=stale: tx.delete(stale))
        for kind, value in wanted - before:
            fresh = lookup_item(tenant, kind, value, contact_id)
            ops.append(lambda tx, fresh=fresh: tx.save(fresh))
        if "name" in values and values["name"] != contact.name:
            ops += [_rename_identity(tenant, entry, values["name"]) for entry in contact.identities or []]
        return self._run(ops)

    def _update_card(self, contact: ContactItem, values: dict[str, Any]) -> TxOp:
        actions = [getattr(ContactItem, name).remove() if value is None else getattr(ContactItem, name).set(value)
                   for name, value in values.items()]
        condition = ContactItem.sk.exists() & ContactItem.merged_into.does_not_exist()
        for name in ("name", "phone", "email"):  # the lookup keys were derived from these: they must not move
            attribute = getattr(ContactItem, name)
            value = getattr(contact, name)
            condition &= attribute.does_not_exist() if value is None else attribute == value
        item = ContactItem(contact.pk, contact_sk(contact.contact_id))
        return lambda tx: tx.update(item, actions=actions, condition=condition)

    def set_blocked(self, contact: ContactItem, blocked: bool) -> bool:
        """Block or unblock the contact and every one of its identities in one transaction: ingest reads the flag
        from the identity it already fetches, so blocking costs a message no extra read. False when an identity
        joined (or the card changed) meanwhile: the caller reads the card again."""
        entries = contact.identities or []
        if len(entries) + 1 > MAX_TRANSACTION:
            raise Conflict(f"A contact with more than {MAX_TRANSACTION - 1} identities cannot be blocked at once.")
        item = ContactItem(contact.pk, contact_sk(contact.contact_id))
        same_identities = (ContactItem.identities.does_not_exist() if contact.identities is None
                           else size(ContactItem.identities) == len(entries))
        condition = ContactItem.sk.exists() & ContactItem.merged_into.does_not_exist() & same_identities
        ops: list[TxOp] = [lambda tx: tx.update(item, actions=[ContactItem.blocked.set(blocked)],
                                                condition=condition)]
        for entry in entries:
            identity = ContactItem(contact.pk, identity_sk(entry["inbox_id"], entry["source_id"]))
            ops.append(lambda tx, identity=identity: tx.update(
                identity, actions=[ContactItem.blocked.set(blocked)], condition=ContactItem.sk.exists()))
        return self._run(ops)

    def _run(self, ops: list[TxOp]) -> bool:
        if len(ops) > MAX_TRANSACTION:
            raise Conflict("This change touches too many items at once; change fewer fields.")
        return self._runner.run(ops) is None

    # ------------------------------------------------------------ notes
    def add_note(self, tenant_id: str, contact_id: str, note: Note) -> None:
        ContactItem(tenant_id, contact_note_sk(contact_id, note.id), kind="note", contact_id=contact_id,
                    text=note.text, author_id=note.author_id, author_name=note.author_name,
                    created_at=note.created_at).save()

    def notes(self, tenant_id: str, contact_ids: list[str], limit: int) -> list[Note]:
        """The newest ``limit`` notes about these contacts (a card and the contacts merged into it)."""
        found: list[Note] = []
        for contact_id in contact_ids:
            query = ContactItem.query(tenant_id, ContactItem.sk.startswith(contact_note_sk(contact_id, "")),
                                      scan_index_forward=False, limit=limit, page_size=limit)
            found += [Note(id=item.sk.rsplit("#", 1)[1], text=item.text or "", author_id=item.author_id,
                           author_name=item.author_name, created_at=item.created_at or "") for item in query]
        return sorted(found, key=lambda note: note.id, reverse=True)[:limit]

    # ------------------------------------------------------------ search
    def lookup(self, tenant_id: str, kind: str, prefix: str, limit: int, cursor: str | None) -> LookupPage:
        """Contacts whose ``kind`` lookup key starts with ``prefix``: one Query on the keys made for it. The cursor
        is the last key read, and it only resumes a search for the same prefix."""
        begins = f"lookup#{kind}#{prefix}"
        start = decode_cursor(cursor)
        if start is not None and (not isinstance(start, str) or not start.startswith(begins)):
            raise BadRequest("The cursor belongs to another search; start again from the first page.")
        last_key = {"pk": {"S": tenant_id}, "sk": {"S": start}} if start else None
        query = ContactItem.query(tenant_id, ContactItem.sk.startswith(begins), limit=limit, page_size=limit,
                                  last_evaluated_key=last_key)
        items = list(query)
        more = query.last_evaluated_key is not None and len(items) == limit
        hits = [(item.sk[len(f"lookup#{kind}#"):-len(item.contact_id) - 1], item.contact_id) for item in items]
        return LookupPage(hits, encode_cursor(items[-1].sk) if more else None)

    def cards(self, tenant_id: str, contact_ids: list[str]) -> dict[str, ContactItem]:
        """Several cards in one BatchGet, by id; ids that are gone are left out."""
        unique = list(dict.fromkeys(contact_ids))
        if not unique:
            return {}
        items = ContactItem.batch_get([(tenant_id, contact_sk(contact_id)) for contact_id in unique])
        return {item.contact_id: item for item in items}


def _rename_identity(tenant_id: str, entry: dict, name: str | None) -> TxOp:
    identity = ContactItem(tenant_id, identity_sk(entry["inbox_id"], entry["source_id"]))
    action = ContactItem.name.remove() if name is None else ContactItem.name.set(name)
    return lambda tx: tx.update(identity, actions=[action], condition=ContactItem.sk.exists())
