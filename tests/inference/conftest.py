"""Fixtures of the inference tests: the three fake upstreams (one each per module, reset
before every test), routers built from real settings, and the anyio backend."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from maia import Settings
from maia.inference import InferenceRouter
from tests.inference.upstreams import Upstream


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@contextlib.contextmanager
def serving(upstream: Upstream) -> Iterator[Upstream]:
    upstream.start()
    try:
        yield upstream
    finally:
        upstream.stop()


@pytest.fixture(scope="module")
def _openai_server() -> Iterator[Upstream]:
    with serving(Upstream("openai")) as up:
        yield up


@pytest.fixture(scope="module")
def _anthropic_server() -> Iterator[Upstream]:
    with serving(Upstream("anthropic")) as up:
        yield up


@pytest.fixture(scope="module")
def _ollama_server() -> Iterator[Upstream]:
    with serving(Upstream("ollama")) as up:
        yield up


@pytest.fixture
def openai_up(_openai_server: Upstream) -> Upstream:
    _openai_server.reset()
    return _openai_server


@pytest.fixture
def anthropic_up(_anthropic_server: Upstream) -> Upstream:
    _anthropic_server.reset()
    return _anthropic_server


@pytest.fixture
def ollama_up(_ollama_server: Upstream) -> Upstream:
    _ollama_server.reset()
    return _ollama_server


@pytest.fixture
def second_openai() -> Iterator[Upstream]:
    with serving(Upstream("openai", label="second")) as up:
        yield up


def provider(
    name: str, up: Upstream | str, *models: str, type: str | None = None, **extra: Any
) -> dict[str, Any]:
    """A provider config pointing at a fake upstream (or a URL), quick to give up."""
    wire = type or (up.wire if isinstance(up, Upstream) else "openai")
    return {
        "name": name,
        "type": wire,
        "base_url": up.base_url if isinstance(up, Upstream) else up,
        "models": list(models),
        "max_retries": 0,
        "backoff_seconds": 0.01,
        "timeout": 5,
        **extra,
    }


RouterFactory = Callable[..., contextlib.AbstractAsyncContextManager[InferenceRouter]]


@pytest.fixture
def router_with(make_settings: Callable[..., Settings]) -> RouterFactory:
    """``async with router_with(*providers, **settings) as router``: started, then closed."""

    @contextlib.asynccontextmanager
    async def opened(*providers: dict[str, Any], **settings: Any) -> AsyncIterator[InferenceRouter]:
        router = InferenceRouter.from_settings(
            make_settings(inference_providers=list(providers), **settings)
        )
        await router.start()
        try:
            yield router
        finally:
            await router.aclose()

    return opened


def user(text: str, **extra: Any) -> dict[str, Any]:
    """A minimal chat request to ``model`` with one user message."""
    return {"messages": [{"role": "user", "content": text}], **extra}
