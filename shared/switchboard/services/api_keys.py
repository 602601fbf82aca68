"""API keys for tenants' systems: shown once, stored only as a hash, scoped, revocable."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from pynamodb.exceptions import DoesNotExist

from ..domain import clock
from ..domain.conversation import OperatorView
from ..domain.errors import BadRequest, Forbidden, NotFound, Unauthorized
from ..domain.ids import ulid
from ..store.models import ApiKeyItem, DirectoryItem

SCOPES = ("messages:write", "contacts:write")  # contacts:write: events for contacts' timelines
PREFIX = "sbk"


@dataclass(frozen=True)
class ApiCaller:
    tenant_id: str
    key_id: str
    scopes: frozenset[str]

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise Forbidden(f"This API key lacks the '{scope}' scope.")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeyService:
    def create(self, viewer: OperatorView, name: object, scopes: object) -> dict:
        _admin(viewer)
        if not isinstance(name, str) or not name.strip():
            raise BadRequest("Name the key after the system that will use it.")
        if not isinstance(scopes, list) or not scopes or any(scope not in SCOPES for scope in scopes):
            raise BadRequest(f"scopes must be a non-empty list of: {', '.join(SCOPES)}.")
        secret = secrets.token_urlsafe(32)
        key_id = ulid()
        ApiKeyItem(viewer.tenant_id, f"apikey#{_hash(secret)}", name=name.strip()[:100], key_id=key_id,
                   scopes=sorted(set(scopes)), created_at=clock.iso(clock.now()),
                   created_by=viewer.operator_id).save()
        return {"id": key_id, "name": name.strip()[:100], "scopes": sorted(set(scopes)),
                "key": f"{PREFIX}_{viewer.tenant_id}_{secret}"}

    def list(self, viewer: OperatorView) -> list[dict]:
        _admin(viewer)
        return [{"id": item.key_id, "name": item.name, "scopes": item.scopes, "created_at": item.created_at}
                for item in self._items(viewer.tenant_id)]

    def revoke(self, viewer: OperatorView, key_id: str) -> None:
        _admin(viewer)
        for item in self._items(viewer.tenant_id):
            if item.key_id == key_id:
                item.delete()
                return
        raise NotFound("No such API key.")

    def authenticate(self, presented: str) -> ApiCaller:
        """The tenant and scopes of a presented key: ``sbk_<tenant>_<secret>``. One read, by the secret's hash."""
        prefix, _, rest = (presented or "").partition("_")
        tenant_id, _, secret = rest.partition("_")
        if prefix != PREFIX or not tenant_id or not secret:
            raise Unauthorized("Send an API key as 'Authorization: Bearer sbk_…'.")
        try:
            item = ApiKeyItem.get(tenant_id, f"apikey#{_hash(secret)}")
        except DoesNotExist:
            raise Unauthorized("The API key is not valid, or it was revoked.") from None
        return ApiCaller(tenant_id=tenant_id, key_id=item.key_id, scopes=frozenset(item.scopes))

    def _items(self, tenant_id: str) -> list[ApiKeyItem]:
        return list(ApiKeyItem.query(tenant_id, DirectoryItem.sk.startswith("apikey#")))


def _admin(viewer: OperatorView) -> None:
    if not viewer.is_admin:
        raise Forbidden("Only owners and admins manage API keys.")
