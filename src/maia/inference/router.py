"""The inference router: picks a provider for each request, fails over, limits, caches,
and keeps each provider's health.

- **Routing** (``routing.py``): an explicit ``provider=`` wins (and is the only one
  tried); else the inference routes, the providers' own model patterns, the default.
- **Failover**: on a connection failure, a timeout or a 5xx the next provider that
  serves the model is tried (for a stream, only before its first chunk); never on a
  4xx, which is raised with the upstream's status and body. Providers marked unhealthy
  are skipped while periodic health checks run; without them they are tried last, so
  a request can find them well again.
- **Retries** with backoff happen inside each provider (``http.py``); the **rate
  limit** (a token bucket per provider) is checked once per request.
- **Cache** (``cache.py``) for non-streamed ``temperature`` 0 requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from maia.inference.base import Provider
from maia.inference.cache import ResponseCache, cache_key, cacheable
from maia.inference.errors import (
    HealthCheckFailed,
    UnknownModel,
    UnknownProvider,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
    openai_error,
)
from maia.inference.health import UNHEALTHY, HealthTracker
from maia.inference.http import HttpOptions, HttpProvider, client_authorization
from maia.inference.limiter import TokenBucket
from maia.inference.providers import (
    AnthropicProvider,
    MockProvider,
    OllamaProvider,
    OpenAIProvider,
)
from maia.inference.providers.anthropic import ANTHROPIC_VERSION
from maia.inference.providers.mock import MOCK_MODELS
from maia.inference.routing import RoutingTable
from maia.settings import InferenceProviderConfig, Settings

log = logging.getLogger(__name__)

# Errors after which the next provider is tried (and the provider's health suffers).
_FAILOVER = (UpstreamTimeout, UpstreamUnavailable)


def _fails_over(exc: Exception) -> bool:
    return isinstance(exc, _FAILOVER) or (isinstance(exc, UpstreamError) and exc.status >= 500)


@dataclass(frozen=True, slots=True)
class HealthOptions:
    enabled: bool = False
    interval_seconds: float = 30.0
    timeout_seconds: float = 10.0
    unhealthy_threshold: int = 3
    healthy_threshold: int = 2


def build_provider(config: InferenceProviderConfig, *, max_tokens_default: int) -> Provider:
    """The provider a ``[[inference_providers]]`` entry describes."""
    if config.type == "mock":
        return MockProvider(config.name)
    key = config.api_key.get_secret_value() if config.api_key is not None else None
    headers: dict[str, str] = {}
    if config.type == "anthropic":
        headers["anthropic-version"] = ANTHROPIC_VERSION
        if key:
            headers["x-api-key"] = key
    elif key:
        headers["Authorization"] = f"Bearer {key}"
    headers.update(config.headers)
    options = HttpOptions(
        base_url=config.url,
        headers=headers,
        timeout=config.timeout,
        max_retries=config.max_retries,
        backoff_seconds=config.backoff_seconds,
        max_backoff_seconds=config.max_backoff_seconds,
        forward_authorization=config.forward_authorization,
    )
    if config.type == "anthropic":
        return AnthropicProvider(config.name, options, max_tokens_default=max_tokens_default)
    if config.type == "ollama":
        return OllamaProvider(config.name, options)
    return OpenAIProvider(config.name, options)


async def _close_iterator(iterator: AsyncIterator[dict[str, Any]]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()


class InferenceRouter:
    """Routes OpenAI chat-completion requests (plain dicts) to the configured providers."""

    def __init__(
        self,
        providers: Sequence[Provider],
        *,
        routing: RoutingTable | None = None,
        rate_limits: Mapping[str, float] | None = None,
        cache: ResponseCache | None = None,
        health: HealthOptions | None = None,
    ) -> None:
        self._providers: dict[str, Provider] = {p.name: p for p in providers}
        # The providers sent the client's own credentials (``forward_authorization``).
        self._forwarding = {
            p.name
            for p in providers
            if isinstance(p, HttpProvider) and p.options.forward_authorization
        }
        if "mock" not in self._providers:
            self._providers["mock"] = MockProvider()
        self._routing = routing or RoutingTable(patterns={"mock": MOCK_MODELS})
        self._buckets = {
            name: TokenBucket(rate) for name, rate in (rate_limits or {}).items() if rate > 0
        }
        self._cache = cache or ResponseCache(enabled=False, ttl_seconds=1, max_entries=1)
        self._health_options = health or HealthOptions()
        self._health = HealthTracker(
            self._providers,
            unhealthy_threshold=self._health_options.unhealthy_threshold,
            healthy_threshold=self._health_options.healthy_threshold,
        )
        self._checks: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> InferenceRouter:
        configs = settings.inference_providers
        providers = [
            build_provider(c, max_tokens_default=settings.inference_max_tokens_default)
            for c in configs
        ]
        patterns: dict[str, Sequence[str]] = {c.name: tuple(c.models) for c in configs}
        if not patterns.get("mock"):
            patterns["mock"] = MOCK_MODELS
        types = {c.name: c.type for c in configs}
        default = settings.inference_default_provider
        routing = RoutingTable(
            routes=tuple(settings.inference_routes.items()),
            patterns=patterns,
            default=default,
            default_serves_any=types.get(default, "mock") != "mock",
        )
        cache = ResponseCache(
            enabled=settings.inference_cache_enabled,
            ttl_seconds=settings.inference_cache_ttl_seconds,
            max_entries=settings.inference_cache_max_entries,
        )
        health = HealthOptions(
            enabled=settings.inference_health_enabled,
            interval_seconds=settings.inference_health_interval_seconds,
            timeout_seconds=settings.inference_health_timeout_seconds,
            unhealthy_threshold=settings.inference_unhealthy_threshold,
            healthy_threshold=settings.inference_healthy_threshold,
        )
        return cls(
            providers,
            routing=routing,
            rate_limits={c.name: c.rate_limit_rps for c in configs},
            cache=cache,
            health=health,
        )

    @property
    def enabled(self) -> bool:
        """True when any provider other than a mock is configured."""
        return any(not isinstance(p, MockProvider) for p in self._providers.values())

    @property
    def providers(self) -> list[str]:
        return list(self._providers)

    async def provider_models(self, name: str) -> list[dict[str, Any]]:
        """The models one provider serves (``UnknownProvider`` for an unknown name)."""
        provider = self._providers.get(name)
        if provider is None:
            raise UnknownProvider(f"unknown provider: {name}")
        return await provider.list_models()

    # -- choosing providers -----------------------------------------------------------

    def _plan(self, request: dict[str, Any], provider: str | None) -> list[str]:
        """The providers to try, in order."""
        if provider is not None:
            if provider not in self._providers:
                raise UnknownProvider(f"inference provider not found: {provider}")
            return [provider]  # forced: no failover to another provider
        model = request.get("model")
        if not isinstance(model, str) or not model:
            raise UnknownModel("the request names no model")
        names = self._routing.candidates(model)
        if not names:
            raise UnknownModel(f"the model '{model}' is not served by any inference provider")
        usable = [n for n in names if self._health.status(n) != UNHEALTHY]
        if not self._health_options.enabled:
            # Nothing else would notice an unhealthy provider recovering: try it last.
            usable += [n for n in names if n not in usable]
        if not usable:
            raise UpstreamUnavailable(
                f"no healthy inference provider serves the model '{model}'"
                f" (unhealthy: {', '.join(names)})"
            )
        return usable

    def _admit(self, name: str) -> UpstreamError | None:
        """``None`` if the provider's rate limit lets a request go, else the 429."""
        bucket = self._buckets.get(name)
        wait = bucket.take() if bucket is not None else 0.0
        if bucket is None or wait <= 0:
            return None
        body = openai_error(
            f"rate limit of inference provider '{name}' reached"
            f" ({bucket.rate:g} requests/s); retry in {wait:.2f} s",
            "rate_limit_error",
            code="rate_limit_exceeded",
        )
        return UpstreamError(429, body, provider=name, retry_after=wait)

    def _observe_failure(self, name: str, exc: Exception) -> None:
        self._health.failure(name, str(exc))
        log.warning("inference provider %s failed: %s", name, exc)

    # -- requests ---------------------------------------------------------------------

    async def complete(
        self, request: dict[str, Any], *, provider: str | None = None
    ) -> tuple[dict[str, Any], str]:
        """(``chat.completion``, name of the provider that answered)."""
        names = self._plan(request, provider)
        key = None
        # An answer paid with a client's own key is that client's: never cached.
        personal = client_authorization.get() is not None and bool(self._forwarding & set(names))
        if self._cache.enabled and cacheable(request) and not personal:
            key = cache_key(request, provider)
            cached = self._cache.get(key)
            if cached is not None:
                return cached
        last: Exception | None = None
        for position, name in enumerate(names):
            refused = self._admit(name)
            if refused is not None:
                if position == 0:
                    raise refused
                continue  # a fallback over its limit is skipped, not an answer
            try:
                response = await self._providers[name].complete(request)
            except (UpstreamError, UpstreamTimeout, UpstreamUnavailable) as exc:
                if not _fails_over(exc):
                    raise
                self._observe_failure(name, exc)
                last = exc
                continue
            self._health.success(name)
            if key is not None:
                self._cache.put(key, response, name)
            return response, name
        assert last is not None  # the first provider either answered, raised or failed
        raise last

    async def stream(
        self, request: dict[str, Any], *, provider: str | None = None
    ) -> tuple[AsyncIterator[dict[str, Any]], str]:
        """(chunks, provider name). The first chunk has arrived when this returns, so a
        failure before it has already failed over or been raised; the iterator must be
        consumed or closed (``aclose``)."""
        names = self._plan(request, provider)
        last: Exception | None = None
        for position, name in enumerate(names):
            refused = self._admit(name)
            if refused is not None:
                if position == 0:
                    raise refused
                continue
            chunks = self._providers[name].stream(request)
            try:
                first = await anext(chunks)
            except StopAsyncIteration:
                first = None
            except (UpstreamError, UpstreamTimeout, UpstreamUnavailable) as exc:
                await _close_iterator(chunks)
                if not _fails_over(exc):
                    raise
                self._observe_failure(name, exc)
                last = exc
                continue
            self._health.success(name)
            return self._relay(name, first, chunks), name
        assert last is not None
        raise last

    async def _relay(
        self, name: str, first: dict[str, Any] | None, chunks: AsyncIterator[dict[str, Any]]
    ) -> AsyncIterator[dict[str, Any]]:
        try:
            if first is None:
                return
            yield first
            async for item in chunks:
                yield item
        except (UpstreamError, UpstreamTimeout, UpstreamUnavailable) as exc:
            if _fails_over(exc):
                self._observe_failure(name, exc)
            raise
        finally:
            await _close_iterator(chunks)

    async def list_models(self) -> list[dict[str, Any]]:
        """Models of every provider not marked unhealthy, first provider wins an id. A
        provider that fails is left out, unless the client's own credentials were sent to
        it (``proxy_backend`` with an ``Authorization`` header): its refusal ("invalid
        key") or failure is then the answer, as the client would have had it."""
        personal = client_authorization.get() is not None
        names = [
            n
            for n in self._providers
            # (asked even when unhealthy if the client's key goes to it: its 502 is the answer)
            if self._health.status(n) != UNHEALTHY or (personal and n in self._forwarding)
        ]
        found = await asyncio.gather(*(self._models_of(name) for name in names))
        merged: dict[str, dict[str, Any]] = {}
        for models in found:
            for model in models:
                merged.setdefault(str(model.get("id")), model)
        return list(merged.values())

    async def _models_of(self, name: str) -> list[dict[str, Any]]:
        try:
            models = await self._providers[name].list_models()
        except (UpstreamError, UpstreamTimeout, UpstreamUnavailable) as exc:
            if _fails_over(exc):
                self._observe_failure(name, exc)
            else:
                log.warning("inference provider %s refused to list models: %s", name, exc)
            if name in self._forwarding and client_authorization.get() is not None:
                raise
            return []
        self._health.success(name)
        return models

    # -- health -----------------------------------------------------------------------

    def health(self) -> dict[str, dict[str, Any]]:
        """Provider name -> ProviderHealth (contract 5.6)."""
        return self._health.snapshots()

    async def check_provider(self, name: str) -> dict[str, Any]:
        """Checks one provider now; its ProviderHealth afterwards. A failed check is
        recorded, then raised as ``HealthCheckFailed``."""
        if name not in self._providers:
            raise UnknownProvider(f"inference provider not found: {name}")
        error = await self._check(name)
        if error is not None:
            raise HealthCheckFailed("health check failed", details=error)
        return self._health.snapshot(name)

    async def _check(self, name: str) -> str | None:
        """Checks a provider and records the outcome; the failure's reason, if any."""
        timeout = self._health_options.timeout_seconds
        try:
            await asyncio.wait_for(self._providers[name].check(), timeout)
        except TimeoutError:
            error = f"health check timed out after {timeout:g} s"
        except Exception as exc:  # any failure of a check means "not serving"
            error = str(exc) or type(exc).__name__
        else:
            self._health.success(name)
            return None
        self._health.failure(name, error)
        return error

    async def _check_periodically(self) -> None:
        while True:
            await asyncio.gather(*(self._check(name) for name in self._providers))
            await asyncio.sleep(self._health_options.interval_seconds)

    async def start(self) -> None:
        """Starts the periodic health checks, if they are enabled."""
        if self._health_options.enabled and self._checks is None:
            self._checks = asyncio.create_task(self._check_periodically())

    async def aclose(self) -> None:
        """Stops the health checks and closes every provider's connections."""
        if self._checks is not None:
            task, self._checks = self._checks, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for provider in self._providers.values():
            await provider.aclose()

    # -- cache ------------------------------------------------------------------------

    def cache_stats(self) -> dict[str, Any]:
        """``{enabled, hits, misses, evictions, size, last_access?}`` (contract 5.6)."""
        return self._cache.stats()

    def clear_cache(self) -> None:
        self._cache.clear()
