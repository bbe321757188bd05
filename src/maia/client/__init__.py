"""The MAIA Python SDK: ``Client`` and ``AsyncClient`` for a MAIA server over HTTP.

```python
from maia.client import Client

with Client() as maia:  # MAIA_URL or http://localhost:8080, MAIA_API_KEY
    memory = maia.remember("alice", "Alice prefers green tea", tags=["preference"])
    hits = maia.search_memories("what does Alice drink?", namespace="alice", limit=5)
    context = maia.recall("what does Alice drink?", namespace="alice", token_budget=500)
    maia.forget(memory.id)
```

It needs only httpx and pydantic: importing it loads nothing of the server.
"""

from maia.client._async import AsyncClient
from maia.client._base import RetryPolicy
from maia.client._sync import Client
from maia.client.errors import (
    AlreadyExistsError,
    APIError,
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    MaiaClientError,
    NetworkError,
    NotFoundError,
    PayloadTooLargeError,
    QuotaExceededError,
    RateLimitedError,
    ServerError,
    UnauthorizedError,
    UnavailableError,
    UnexpectedResponseError,
    ValidationError,
)
from maia.client.models import (
    APIKey,
    AuditEvent,
    ContextMemory,
    ContextResponse,
    CreatedAPIKey,
    Edge,
    Health,
    ListResponse,
    Memory,
    MemorySource,
    MemoryType,
    Namespace,
    NamespaceConfig,
    NewMemory,
    RelatedMemory,
    Relation,
    RelationType,
    SearchResult,
    Stats,
    Tenant,
    TenantConfig,
    TenantQuotas,
    TenantUsage,
    Usage,
    ZoneStats,
)

__all__ = [
    "APIError",
    "APIKey",
    "AlreadyExistsError",
    "AsyncClient",
    "AuditEvent",
    "Client",
    "ConflictError",
    "ContextMemory",
    "ContextResponse",
    "CreatedAPIKey",
    "Edge",
    "ForbiddenError",
    "Health",
    "InvalidInputError",
    "ListResponse",
    "MaiaClientError",
    "Memory",
    "MemorySource",
    "MemoryType",
    "Namespace",
    "NamespaceConfig",
    "NetworkError",
    "NewMemory",
    "NotFoundError",
    "PayloadTooLargeError",
    "QuotaExceededError",
    "RateLimitedError",
    "RelatedMemory",
    "Relation",
    "RelationType",
    "RetryPolicy",
    "SearchResult",
    "ServerError",
    "Stats",
    "Tenant",
    "TenantConfig",
    "TenantQuotas",
    "TenantUsage",
    "UnauthorizedError",
    "UnavailableError",
    "UnexpectedResponseError",
    "Usage",
    "ValidationError",
    "ZoneStats",
]
