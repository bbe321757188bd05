"""MAIA: memory for LLM applications and agents.

```python
from maia import Maia
with Maia.open("./maia-data") as m:
    mem = m.remember("Alice prefers green tea", namespace="alice")
    hits = m.recall("what does Alice drink?", namespace="alice")
```

The names below are imported on first use (PEP 562), so that ``import maia.client``
(the HTTP SDK) does not load the server, the store or the embedding model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from maia._version import __version__

if TYPE_CHECKING:
    from maia.errors import (
        AlreadyExists,
        Conflict,
        Forbidden,
        InvalidInput,
        MaiaError,
        NotFound,
        QuotaExceeded,
        RateLimited,
        Unauthorized,
        Unavailable,
    )
    from maia.service import Maia
    from maia.settings import Settings

_LAZY = {
    "AlreadyExists": "maia.errors",
    "Conflict": "maia.errors",
    "Forbidden": "maia.errors",
    "InvalidInput": "maia.errors",
    "MaiaError": "maia.errors",
    "NotFound": "maia.errors",
    "QuotaExceeded": "maia.errors",
    "RateLimited": "maia.errors",
    "Unauthorized": "maia.errors",
    "Unavailable": "maia.errors",
    "Maia": "maia.service",
    "Settings": "maia.settings",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'maia' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "AlreadyExists",
    "Conflict",
    "Forbidden",
    "InvalidInput",
    "Maia",
    "MaiaError",
    "NotFound",
    "QuotaExceeded",
    "RateLimited",
    "Settings",
    "Unauthorized",
    "Unavailable",
    "__version__",
]
