"""The caller of a request: tenant, scopes and the namespaces it may touch."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass

from maia.models import SYSTEM_TENANT, Scope


def namespace_allowed(patterns: Iterable[str], name: str) -> bool:
    """Whether a key limited to ``patterns`` may use namespace ``name``.

    A pattern grants the namespaces it matches and everything below them: ``acme``
    grants ``acme`` and ``acme/team/alice``; ``*`` matches one level (``acme/*/notes``
    grants ``acme/x/notes``), and a lone ``*`` grants every namespace.
    """
    parts = name.split("/")
    for pattern in patterns:
        if pattern == "*":
            return True
        wanted = pattern.split("/")
        if len(wanted) <= len(parts) and all(
            fnmatch.fnmatchcase(part, want) for part, want in zip(parts, wanted, strict=False)
        ):
            return True
    return False


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling. Empty ``scopes`` allow everything (the contract's rule for keys
    without scopes); empty ``namespaces`` allow every namespace of the tenant."""

    tenant_id: str
    name: str
    scopes: frozenset[Scope] = frozenset()
    namespaces: tuple[str, ...] = ()
    default_namespace: str | None = None
    key_hash: str | None = None
    # The tenant the key belongs to, when acting in another one (X-MAIA-Tenant-ID).
    home_tenant_id: str | None = None

    def allows(self, accepted: Iterable[Scope]) -> bool:
        """True when the principal holds any of the ``accepted`` scopes (or all)."""
        if not self.scopes or Scope.ALL in self.scopes:
            return True
        return any(scope in self.scopes for scope in accepted)

    @property
    def home_tenant(self) -> str:
        return self.home_tenant_id or self.tenant_id

    @property
    def is_admin(self) -> bool:
        """Instance administrator: the admin scope on a key of the system tenant."""
        return self.home_tenant == SYSTEM_TENANT and self.allows((Scope.ADMIN,))

    @property
    def restricted(self) -> bool:
        """True when the key may use only some namespaces."""
        return bool(self.namespaces) and "*" not in self.namespaces

    def may_use(self, namespace: str) -> bool:
        return not self.restricted or namespace_allowed(self.namespaces, namespace)

    def for_tenant(self, tenant_id: str) -> Principal:
        """The same caller acting in another tenant (admins, by ``X-MAIA-Tenant-ID``)."""
        return Principal(
            tenant_id,
            self.name,
            self.scopes,
            self.namespaces,
            self.default_namespace,
            self.key_hash,
            self.home_tenant,
        )


# Where the HTTP layer leaves the caller in the ASGI scope's "state" (REST and MCP read it).
PRINCIPAL_KEY = "maia_principal"

# The caller of a server without authentication (local use): everything, system tenant.
OPEN_PRINCIPAL = Principal(SYSTEM_TENANT, "anonymous")
