"""The tenant's tag catalogue and dialog settings (request types, reasons, components), kept in the directory."""

from __future__ import annotations

from pynamodb.exceptions import PutError

from ..domain.settings import CATALOGUES, DEFAULT_CATALOGUES, Catalogues
from .models import CatalogueItem, DirectoryItem, TagItem


class CatalogueStore:
    def tags(self, tenant_id: str) -> list[str]:
        return [item.sk.removeprefix("tag#") for item in TagItem.query(tenant_id, DirectoryItem.sk.startswith("tag#"))]

    def add_tag(self, tenant_id: str, tag: str, by: str, at: str) -> bool:
        """Add ``tag`` to the catalogue once; False if it was already there. Tags are never deleted."""
        try:
            TagItem(tenant_id, f"tag#{tag}", name=tag, created_at=at, created_by=by).save(
                condition=DirectoryItem.sk.does_not_exist())
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def catalogues(self, tenant_id: str) -> Catalogues:
        stored = {item.sk.removeprefix("catalogue#"): list(item.values or [])
                  for item in CatalogueItem.query(tenant_id, DirectoryItem.sk.startswith("catalogue#"))}
        return Catalogues(**{name: stored.get(name, list(DEFAULT_CATALOGUES[name])) for name in CATALOGUES})

    def put_catalogue(self, tenant_id: str, name: str, values: list[str], by: str) -> None:
        CatalogueItem(tenant_id, f"catalogue#{name}", values=values, updated_by=by).save()
