"""MAIA: memory for LLM applications and agents.

```python
from maia import Maia
with Maia.open("./maia-data") as m:
    mem = m.remember("Alice prefers green tea", namespace="alice")
    hits = m.recall("what does Alice drink?", namespace="alice")
```
"""

from maia._version import __version__
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
