"""Routing by model name, explicit provider, failover, timeouts, retries, rate limits."""

from __future__ import annotations

import time

import anyio
import pytest

from maia.inference import (
    UnknownModel,
    UnknownProvider,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from maia.inference.routing import RoutingTable, matches
from tests.inference.conftest import RouterFactory, provider, serving, user
from tests.inference.upstreams import Reply, Upstream, free_port_url

pytestmark = pytest.mark.anyio


# -- routing (pure) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "model", "expected"),
    [
        ("claude-*", "claude-3-5-sonnet", True),
        ("claude-*", "claude-", True),
        ("claude-*", "my-claude-3", False),
        ("llama*", "llama3:8b", True),
        ("*/*", "openai/gpt-4o", True),
        ("*/*", "gpt-4o", False),
        ("gpt-4o", "gpt-4o-mini", False),
        ("gpt-4.1", "gpt-401", False),  # the dot is literal
        ("*mini", "gpt-4o-mini", True),
    ],
)
def test_wildcards(pattern: str, model: str, expected: bool) -> None:
    assert matches(pattern, model) is expected


def test_candidate_order() -> None:
    table = RoutingTable(
        routes=[("gpt-4*", "a"), ("gpt-*", "b")],
        patterns={"c": ["gpt-*"], "b": ["gpt-*"], "d": ["llama*"]},
        default="e",
        default_serves_any=True,
    )
    assert table.candidates("gpt-4o") == ["a", "b", "c", "e"]
    assert table.candidates("gpt-3.5") == ["b", "c", "e"]
    assert table.candidates("llama3") == ["d", "e"]
    assert table.candidates("other") == ["e"]
    mock_default = RoutingTable(patterns={"mock": ["mock", "mock-*"]}, default="mock")
    assert mock_default.candidates("other") == []
    assert mock_default.candidates("mock-1") == ["mock"]


# -- routing through the router --------------------------------------------------------


async def test_routes_then_patterns_then_default(
    router_with: RouterFactory, openai_up: Upstream, anthropic_up: Upstream, ollama_up: Upstream
) -> None:
    providers = [
        provider("oai", openai_up),
        provider("anth", anthropic_up),
        provider("oll", ollama_up, "qwen*"),
    ]
    routes = {"claude-*": "anth", "llama*": "oll"}
    async with router_with(
        *providers, inference_routes=routes, inference_default_provider="oai"
    ) as router:
        for model, expected in [
            ("claude-3-opus", "anth"),
            ("llama3:8b", "oll"),
            ("qwen2", "oll"),
            ("gpt-4o", "oai"),
            ("anything-else", "oai"),
            ("mock", "mock"),
            ("mock-fast", "mock"),
        ]:
            _, used = await router.complete(user("hi", model=model))
            assert used == expected, model


async def test_explicit_provider_wins(
    router_with: RouterFactory, openai_up: Upstream, ollama_up: Upstream
) -> None:
    async with router_with(provider("oai", openai_up, "gpt-*"), provider("oll", ollama_up)) as r:
        _, used = await r.complete(user("hi", model="gpt-4o"), provider="oll")
        assert used == "oll"
        assert ollama_up.received[0].body["model"] == "gpt-4o"
        chunks, used = await r.stream(user("hi", model="gpt-4o"), provider="oll")
        assert used == "oll"
        await chunks.aclose()  # type: ignore[attr-defined]
    assert not openai_up.received


async def test_unknown_model_and_provider(router_with: RouterFactory, openai_up: Upstream) -> None:
    async with router_with(provider("oai", openai_up, "gpt-*")) as router:
        with pytest.raises(UnknownModel) as caught:
            await router.complete(user("hi", model="claude-3"))
        assert caught.value.status == 404
        assert caught.value.body["error"]["code"] == "model_not_found"
        with pytest.raises(UnknownModel):
            await router.stream(user("hi", model="claude-3"))
        with pytest.raises(UnknownProvider):
            await router.complete(user("hi", model="gpt-4o"), provider="nope")
    assert not openai_up.received


async def test_enabled_only_with_a_real_provider(
    router_with: RouterFactory, openai_up: Upstream
) -> None:
    async with router_with() as router:
        assert not router.enabled
        _, used = await router.complete(user("hi", model="mock"))
        assert used == "mock"
    async with router_with(provider("m2", "", "m2-*", type="mock")) as router:
        assert not router.enabled
    async with router_with(provider("oai", openai_up)) as router:
        assert router.enabled


# -- failover ----------------------------------------------------------------------------


async def test_failover_when_connection_refused(
    router_with: RouterFactory, openai_up: Upstream
) -> None:
    dead = provider("dead", free_port_url() + "/v1", "gpt-*")
    async with router_with(dead, provider("live", openai_up, "gpt-*")) as router:
        answer, used = await router.complete(user("hi", model="gpt-4o"))
        assert used == "live"
        assert answer["choices"][0]["message"]["content"] == "openai saw: hi"
        health = router.health()["dead"]
        assert health["consecutive_errors"] == 1
        assert "failed" in health["last_error"]


async def test_failover_when_an_upstream_stops(
    router_with: RouterFactory, second_openai: Upstream
) -> None:
    first = Upstream("openai", label="first")
    with serving(first):
        providers = [provider("first", first, "gpt-*"), provider("second", second_openai, "gpt-*")]
        async with router_with(*providers) as router:
            _, used = await router.complete(user("hi", model="gpt-4o"))
            assert used == "first"
            first.stop()
            answer, used = await router.complete(user("hi", model="gpt-4o"))
            assert used == "second"
            assert answer["choices"][0]["message"]["content"] == "second saw: hi"
            chunks, used = await router.stream(user("hi", model="gpt-4o"))
            assert used == "second"
            assert [c async for c in chunks][1]["choices"][0]["delta"]["content"] == "second "


async def test_failover_on_5xx_but_not_on_4xx(
    router_with: RouterFactory, openai_up: Upstream, second_openai: Upstream
) -> None:
    providers = [provider("one", openai_up, "gpt-*"), provider("two", second_openai, "gpt-*")]
    async with router_with(*providers) as router:
        openai_up.then(Reply(503, {"error": {"message": "down", "type": "server_error"}}))
        _, used = await router.complete(user("hi", model="gpt-4o"))
        assert used == "two"

        error = {"message": "context too long", "type": "invalid_request_error", "code": "c"}
        openai_up.then(Reply(400, {"error": error}))
        with pytest.raises(UpstreamError) as caught:
            await router.complete(user("hi", model="gpt-4o"))
        assert caught.value.status == 400
        assert caught.value.body == {"error": error}
        assert caught.value.provider == "one"
    assert len(second_openai.received) == 1, "the 4xx was not sent elsewhere"


async def test_last_failure_is_raised_when_all_fail(
    router_with: RouterFactory, openai_up: Upstream
) -> None:
    dead = provider("dead", free_port_url() + "/v1", "gpt-*")
    async with router_with(provider("one", openai_up, "gpt-*"), dead) as router:
        openai_up.then(Reply(502, {"error": {"message": "bad gateway", "type": "server_error"}}))
        with pytest.raises(UpstreamUnavailable) as caught:
            await router.complete(user("hi", model="gpt-4o"))
        assert caught.value.status == 502
        assert caught.value.body["error"]["type"] == "backend_error"


async def test_stream_fails_over_only_before_the_first_chunk(
    router_with: RouterFactory, openai_up: Upstream, second_openai: Upstream
) -> None:
    providers = [provider("one", openai_up, "gpt-*"), provider("two", second_openai, "gpt-*")]
    async with router_with(*providers) as router:
        openai_up.then(Reply(500, {"error": {"message": "boom", "type": "server_error"}}))
        chunks, used = await router.stream(user("hi", model="gpt-4o"))
        assert used == "two"
        assert len([c async for c in chunks]) == 5

        chunk = '{"id": "c1", "object": "chat.completion.chunk", "choices": []}'
        broken = f'data: {chunk}\n\ndata: {{"error": {{"message": "lost"}}}}\n\n'
        openai_up.then(Reply(200, text=broken, headers={"content-type": "text/event-stream"}))
        chunks, used = await router.stream(user("hi", model="gpt-4o"))
        assert used == "one"
        assert (await anext(chunks))["id"] == "c1"
        with pytest.raises(UpstreamError):
            await anext(chunks)
    assert len(second_openai.received) == 1


# -- timeouts and retries ----------------------------------------------------------------


async def test_timeout(router_with: RouterFactory, openai_up: Upstream) -> None:
    openai_up.then(Reply(delay=1.0))
    async with router_with(provider("o", openai_up, "gpt-*", timeout=0.2)) as router:
        started = time.monotonic()
        with pytest.raises(UpstreamTimeout) as caught:
            await router.complete(user("hi", model="gpt-4o"))
        assert time.monotonic() - started < 0.9
    assert caught.value.status == 504
    assert caught.value.body["error"]["type"] == "timeout"


async def test_retries_with_exponential_backoff(
    router_with: RouterFactory, openai_up: Upstream
) -> None:
    failure = Reply(503, {"error": {"message": "busy", "type": "server_error"}})
    openai_up.then(failure, failure)
    config = provider("o", openai_up, "gpt-*", max_retries=2, backoff_seconds=0.1)
    async with router_with(config) as router:
        started = time.monotonic()
        answer, _ = await router.complete(user("hi", model="gpt-4o"))
        elapsed = time.monotonic() - started
    assert answer["choices"][0]["message"]["content"] == "openai saw: hi"
    assert len(openai_up.received) == 3
    assert 0.28 <= elapsed < 2, "waited 0.1 s, then 0.2 s"


async def test_retries_give_up(router_with: RouterFactory, openai_up: Upstream) -> None:
    failure = Reply(500, {"error": {"message": "busy", "type": "server_error"}})
    openai_up.then(failure, failure, failure)
    async with router_with(provider("o", openai_up, "gpt-*", max_retries=1)) as router:
        with pytest.raises(UpstreamError) as caught:
            await router.complete(user("hi", model="gpt-4o"))
    assert caught.value.status == 500
    assert len(openai_up.received) == 2


async def test_retry_after_is_honoured(router_with: RouterFactory, openai_up: Upstream) -> None:
    limited = {"error": {"message": "slow down", "type": "rate_limit_error"}}
    openai_up.then(Reply(429, limited, headers={"Retry-After": "0.5"}))
    async with router_with(provider("o", openai_up, "gpt-*", max_retries=1)) as router:
        started = time.monotonic()
        await router.complete(user("hi", model="gpt-4o"))
        assert time.monotonic() - started >= 0.45
    assert len(openai_up.received) == 2


async def test_retry_after_is_capped(router_with: RouterFactory, openai_up: Upstream) -> None:
    limited = {"error": {"message": "slow down", "type": "rate_limit_error"}}
    openai_up.then(Reply(429, limited, headers={"Retry-After": "3600"}))
    config = provider("o", openai_up, "gpt-*", max_retries=1, max_backoff_seconds=0.2)
    async with router_with(config) as router:
        started = time.monotonic()
        await router.complete(user("hi", model="gpt-4o"))
        assert time.monotonic() - started < 2


async def test_429_after_retries_is_not_failed_over(
    router_with: RouterFactory, openai_up: Upstream, second_openai: Upstream
) -> None:
    limited = {"error": {"message": "slow down", "type": "rate_limit_error"}}
    openai_up.then(Reply(429, limited, headers={"Retry-After": "0"}))
    providers = [provider("one", openai_up, "gpt-*"), provider("two", second_openai, "gpt-*")]
    async with router_with(*providers) as router:
        with pytest.raises(UpstreamError) as caught:
            await router.complete(user("hi", model="gpt-4o"))
    assert caught.value.status == 429
    assert caught.value.retry_after == 0
    assert not second_openai.received


# -- rate limits -------------------------------------------------------------------------


async def test_rate_limit_per_provider(router_with: RouterFactory) -> None:
    limited = provider("limited", "", "lim-*", type="mock", rate_limit_rps=2)
    async with router_with(limited) as router:
        for _ in range(2):
            await router.complete(user("hi", model="lim-1"))
        with pytest.raises(UpstreamError) as caught:
            await router.complete(user("hi", model="lim-1"))
        assert caught.value.status == 429
        assert caught.value.body["error"]["type"] == "rate_limit_error"
        assert caught.value.body["error"]["code"] == "rate_limit_exceeded"
        assert 0 < (caught.value.retry_after or 0) <= 0.5
        with pytest.raises(UpstreamError):
            await router.stream(user("hi", model="lim-1"))
        # Other providers have their own budget.
        for _ in range(5):
            await router.complete(user("hi", model="mock"))
        await anyio.sleep(0.55)
        await router.complete(user("hi", model="lim-1"))
