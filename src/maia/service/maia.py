"""``Maia``: the library API and the one façade every transport calls."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from types import TracebackType
from typing import Any

from maia.errors import AlreadyExists, InvalidInput
from maia.models import NamespaceConfig, NamespaceCreate, utcnow
from maia.service.admin import AdminOps
from maia.service.base import DEFAULT_TENANT, Clock
from maia.settings import Settings
from maia.store.base import Store
from maia.store.sqlite import SQLiteStore

log = logging.getLogger(__name__)


class Maia(AdminOps):
    """Memories, namespaces, search and stats for one tenant over one store.

    ``Maia.open(path)`` opens (or creates) an embedded store in a data directory.
    The object is thread-safe; ``for_tenant`` gives a view of another tenant that
    shares the store.
    """

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        tenant: str = DEFAULT_TENANT,
        clock: Clock = utcnow,
        owns_store: bool = True,
    ) -> None:
        super().__init__(store, settings, tenant=tenant, clock=clock)
        self._owns_store = owns_store

    @classmethod
    def open(
        cls,
        location: str | Path | None = None,
        *,
        settings: Settings | None = None,
        clock: Clock = utcnow,
        **overrides: Any,
    ) -> Maia:
        """Opens the store at ``location`` (a data directory), else ``settings.data_dir``."""
        if settings is None:
            settings = Settings.load(**overrides)
        elif overrides:
            settings = settings.model_copy(update=overrides)
        if location is not None:
            text = str(location)
            if "://" in text:
                raise InvalidInput(
                    f"invalid location: unsupported database URL scheme in {text!r}; "
                    "give a data directory path",
                    field="location",
                )
            settings = settings.model_copy(update={"data_dir": Path(text).expanduser()})
        store = SQLiteStore.in_dir(settings.data_dir, synchronous=settings.sqlite_synchronous)
        maia = cls(store, settings, clock=clock)
        try:
            maia.ensure_default_namespace()
        except BaseException:
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
        return Maia(self._store, self._settings, tenant=tenant, clock=self._clock, owns_store=False)

    def close(self) -> None:
        if self._owns_store:
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
