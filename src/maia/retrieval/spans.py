"""Trace spans around the expensive retrieval steps (search, embedding).

They go to OpenTelemetry's global tracer provider, which ``maia.api.tracing`` sets up
when tracing is on; otherwise the API records nothing. MAIA does not depend on
``opentelemetry-api``: without it, ``span()`` is a null context manager.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

try:
    from opentelemetry import trace
except ImportError:  # pragma: no cover - exercised by tests that hide the package
    trace = None  # type: ignore[assignment]

_tracer = trace.get_tracer("maia") if trace is not None else None


@contextlib.contextmanager
def span(name: str, **attributes: str | int | float | bool) -> Iterator[None]:
    """A span named ``name`` (a child of the current one) around the block."""
    if _tracer is None:
        yield
        return
    with _tracer.start_as_current_span(name, attributes=attributes):
        yield
