"""``Maia``: the library API and the one façade every transport calls."""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from pydantic import SecretStr

from maia.errors import AlreadyExists
from maia.models import NamespaceConfig, NamespaceCreate, utcnow
from maia.retrieval.embed.factory import embedder_from
from maia.retrieval.engine import INDEX_FILE, RetrievalEngine
from maia.retrieval.index.database import DatabaseVectorIndex, VectorDatabase
from maia.retrieval.index.fulltext import TextIndex
from maia.retrieval.index.order import OrderIndex
from maia.retrieval.index.speakers import SpeakerIndex
from maia.retrieval.index.vectors import HnswParams, VectorIndex
from maia.retrieval.tokens import token_counter
from maia.security.audit import AuditLog
from maia.security.principal import Principal
from maia.service.access import AccessRecorder
from maia.service.base import DEFAULT_TENANT, Clock, StripedLocks, Timings
from maia.service.context import ContextOps
from maia.service.learning import LearningOps
from maia.service.stores import check_location, is_database_url, open_store
from maia.service.tenants import TenantOps, UsageMeter
from maia.service.transfer import TransferOps
from maia.settings import Settings
from maia.store.base import Store, every

log = logging.getLogger(__name__)


def build_engine(
    settings: Settings, index_path: Path | None, store: Store | None = None
) -> RetrievalEngine:
    """The engine for ``store``: the database's own vector search when it has one
    (PostgreSQL), else an in-process index persisted at ``index_path``."""
    embedder = embedder_from(settings)
    tokens = token_counter(settings.token_encoding)
    if isinstance(store, VectorDatabase):
        return RetrievalEngine(
            embedder, DatabaseVectorIndex(store, embedder.model_id), None, tokens
        )
    index = VectorIndex(
        embedder.dim,
        exact_limit=settings.vector_exact_limit,
        hnsw=HnswParams(
            connectivity=settings.hnsw_connectivity,
            expansion_add=settings.hnsw_expansion_add,
            expansion_search=settings.hnsw_expansion_search,
            dtype=settings.hnsw_dtype,
        ),
    )
    return RetrievalEngine(
        embedder, index, index_path, tokens, TextIndex(), OrderIndex(), SpeakerIndex()
    )


def open_audit_log(settings: Settings) -> AuditLog | None:
    if not settings.audit_log:
        return None
    path = settings.audit_path or settings.data_dir / "audit.log"
    return AuditLog(path, max_bytes=settings.audit_max_bytes, backups=settings.audit_backups)


class Maia(ContextOps, TenantOps, TransferOps, LearningOps):
    """Memories, namespaces, search and stats for one tenant over one store.

    ``Maia.open(path)`` opens (or creates) an embedded store in a data directory.
    The object is thread-safe; ``for_tenant`` gives a view of another tenant that
    shares the store.
    """

    def __init__(
        self,
        store: Store,
        settings: Settings,
        engine: RetrievalEngine,
        *,
        tenant: str = DEFAULT_TENANT,
        clock: Clock = utcnow,
        owns_store: bool = True,
        access: AccessRecorder | None = None,
        principal: Principal | None = None,
        audit: AuditLog | None = None,
        meter: UsageMeter | None = None,
        timings: Timings | None = None,
        locks: StripedLocks | None = None,
    ) -> None:
        super().__init__(
            store,
            settings,
            engine,
            tenant=tenant,
            clock=clock,
            access=access,
            principal=principal,
            audit=audit,
            timings=timings,
            locks=locks,
        )
        self._owns_store = owns_store
        self._meter = meter or UsageMeter()

    @classmethod
    def open(
        cls,
        location: str | Path | None = None,
        *,
        settings: Settings | None = None,
        clock: Clock = utcnow,
        **overrides: Any,
    ) -> Maia:
        """Opens the store at ``location``: a data directory (embedded SQLite) or a
        ``postgresql://`` URL; without one, ``settings.database_url``, else
        ``settings.data_dir``."""
        if settings is None:
            settings = Settings.load(**overrides)
        elif overrides:
            settings = settings.model_copy(update=overrides)
        if location is not None:
            text = str(location)
            check_location(text)
            if is_database_url(text):
                settings = settings.model_copy(update={"database_url": SecretStr(text)})
            else:
                settings = settings.model_copy(
                    update={"data_dir": Path(text).expanduser(), "database_url": None}
                )
        store = open_store(settings)
        engine: RetrievalEngine | None = None
        try:
            engine = build_engine(settings, settings.data_dir / INDEX_FILE, store)
            with store.read() as tx:
                engine.load(tx)
            maia = cls(store, settings, engine, clock=clock, audit=open_audit_log(settings))
            maia.ensure_system_tenant()
            maia.ensure_default_namespace()
        except BaseException:
            if engine is not None:
                engine.close()
            store.close()
            raise
        return maia

    def ensure_default_namespace(self) -> None:
        """Creates the default namespace on first start (``token_budget`` from settings)."""
        name = self._settings.default_namespace
        if self.find_namespace(name) is not None:
            return
        with contextlib.suppress(AlreadyExists):  # another process may have created it
            self.create_namespace(
                NamespaceCreate(
                    name=name, config=NamespaceConfig(token_budget=self._settings.token_budget)
                )
            )

    def for_tenant(self, tenant: str) -> Maia:
        """A view of ``tenant``'s data sharing this instance's store."""
        return self.for_principal(Principal(tenant, self._principal.name))

    def for_principal(self, principal: Principal) -> Maia:
        """A view acting as ``principal``: its tenant's data, limited to the namespaces
        its key may use, with its name on audit events."""
        return Maia(
            self._store,
            self._settings,
            self._engine,
            clock=self._clock,
            owns_store=False,
            access=self._access,
            principal=principal,
            audit=self._audit,
            meter=self._meter,
            timings=self._timings,
            locks=self._locks,
        )

    def purge_expired_all_tenants(self, now: datetime | None = None) -> int:
        """``purge_expired`` for every tenant (the server's retention sweep); a tenant
        that fails is logged and skipped."""
        now = now or self._clock()
        purged = 0
        for tenant in every(self.list_tenants):
            try:
                purged += self.for_tenant(tenant.id).purge_expired(now)
            except Exception:
                log.exception("retention sweep failed for tenant %s", tenant.id)
        return purged

    def close(self) -> None:
        if not self._owns_store:
            return
        self._access.close()
        try:
            self.flush_key_usage()
        except Exception:  # last-used times are advisory
            log.exception("could not record API key usage")
        if self._audit is not None:
            self._audit.close()
        try:
            with self._store.read() as tx:
                self._engine.save(tx)
        except Exception:  # the index is derived data: a failed save means a rebuild
            log.exception("could not save the vector index")
        self._engine.close()
        self._store.close()

    def __enter__(self) -> Maia:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
