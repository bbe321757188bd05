"""Namespace operations: CRUD, hierarchy and config inheritance."""

from __future__ import annotations

from maia.errors import NotFound, QuotaExceeded
from maia.models import (
    Namespace,
    NamespaceConfig,
    NamespaceCreate,
    NamespaceUpdate,
    Page,
)
from maia.service.base import ServiceBase, new_id
from maia.store.base import StoreReader


class NamespaceOps(ServiceBase):
    def create_namespace(self, data: NamespaceCreate) -> Namespace:
        self._authorize(data.name)
        if data.parent is not None:
            # A config inheriting from the parent would show the caller the parent's.
            self._authorize(data.parent)
        now = self._clock()
        namespace = Namespace(
            id=new_id(),
            name=data.name,
            parent=data.parent,
            template=data.template,
            config=data.config or NamespaceConfig(),
            created_at=now,
            updated_at=now,
        )
        with self._write() as tx:
            self._enforce_namespace_quota(tx)
            tx.insert_namespace(self._tenant, namespace)
        self._record("namespace.create", namespace.id, name=namespace.name)
        return namespace

    def _enforce_namespace_quota(self, tx: StoreReader) -> None:
        tenant = tx.get_tenant(self._tenant)
        limit = tenant.config.max_namespaces if tenant is not None else 0
        if limit:
            current = tx.count_namespaces(self._tenant)
            if current >= limit:
                raise QuotaExceeded(
                    "namespace quota exceeded",
                    limit=limit,
                    current=current,
                    details=f"tenant {self._tenant!r} has {current} of {limit} namespaces",
                )

    def get_namespace(self, id_or_name: str) -> Namespace:
        with self._store.read() as tx:
            return self._require_namespace(tx, id_or_name)

    def find_namespace(self, id_or_name: str) -> Namespace | None:
        with self._store.read() as tx:
            return tx.get_namespace(self._tenant, id_or_name)

    def update_namespace(self, id_or_name: str, data: NamespaceUpdate) -> Namespace:
        with self._write() as tx:
            current = self._require_namespace(tx, id_or_name)
            if current.parent is not None:
                self._authorize(current.parent)  # as on create
            updated = current.model_copy(
                update={"config": data.config, "updated_at": self._clock()}
            )
            tx.update_namespace(self._tenant, updated)
        self._record("namespace.update", updated.id, name=updated.name)
        self._record(
            "config.change",
            updated.id,
            name=updated.name,
            config=updated.config.model_dump(mode="json"),
        )
        return updated

    def delete_namespace(self, id_or_name: str) -> None:
        """Deletes the record only: its memories stay (the contract's behaviour)."""
        with self._write() as tx:
            current = self._require_namespace(tx, id_or_name)
            tx.delete_namespace(self._tenant, current.id)
        self._record("namespace.delete", current.id, name=current.name)

    def list_namespaces(
        self, page: Page | None = None, *, prefix: str | None = None
    ) -> list[Namespace]:
        with self._store.read() as tx:
            found = tx.list_namespaces(self._tenant, page or Page(), prefix=prefix)
        # A key limited to some namespaces sees only those (the page may come out short).
        return [n for n in found if self._principal.may_use(n.name)]

    def namespace_children(self, id_or_name: str) -> list[Namespace]:
        with self._store.read() as tx:
            parent = self._require_namespace(tx, id_or_name)
            children = tx.namespace_children(self._tenant, parent.name)
        return [n for n in children if self._principal.may_use(n.name)]

    def effective_config(self, name: str, *, granted_only: bool = False) -> NamespaceConfig:
        """The namespace's config with inherited fields filled from its ancestors.
        ``name`` is a name, never an id. The rules apply along the whole chain;
        ``granted_only`` (what the caller is shown) stops at an ancestor the caller's key
        may not use, whose config would otherwise be readable through a child's."""
        with self._store.read() as tx:
            return self._effective_config(tx, name, granted_only=granted_only)

    def _effective_config(
        self, tx: StoreReader, name: str, *, granted_only: bool = False
    ) -> NamespaceConfig:
        namespace = tx.get_namespace_by_name(self._tenant, name)
        if namespace is None:
            return NamespaceConfig()
        chain = [namespace]
        seen = {namespace.id}
        while chain[-1].config.inherit_from_parent:
            parent_name = chain[-1].parent_name()
            if parent_name is None or (granted_only and not self._principal.may_use(parent_name)):
                break
            parent = tx.get_namespace_by_name(self._tenant, parent_name)
            if parent is None or parent.id in seen:  # missing parent or a cycle
                break
            seen.add(parent.id)
            chain.append(parent)
        config = chain[-1].config
        for child in reversed(chain[:-1]):
            config = child.config.overlay(config)
        return config

    def _require_namespace(self, tx: StoreReader, id_or_name: str) -> Namespace:
        namespace = tx.get_namespace(self._tenant, id_or_name)
        if namespace is None:
            raise NotFound(f"namespace not found: {id_or_name}")
        self._authorize(namespace.name)
        return namespace
