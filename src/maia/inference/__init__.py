"""Inference: providers (OpenAI-compatible, Ollama, Anthropic, mock) behind one router
with wildcard routing, failover, retries, rate limits, health and a response cache.

Everything speaks OpenAI's chat-completions wire format as plain JSON dicts.
"""

from __future__ import annotations

from maia.inference.base import Provider
from maia.inference.errors import (
    HealthCheckFailed,
    UnknownModel,
    UnknownProvider,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from maia.inference.router import InferenceRouter

__all__ = [
    "HealthCheckFailed",
    "InferenceRouter",
    "Provider",
    "UnknownModel",
    "UnknownProvider",
    "UpstreamError",
    "UpstreamTimeout",
    "UpstreamUnavailable",
]
