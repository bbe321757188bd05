"""The response cache: temperature-0, non-streamed requests only; LRU, TTL, stats."""

from __future__ import annotations

import re

import anyio
import pytest

from maia.inference.cache import ResponseCache, cache_key, cacheable
from tests.inference.conftest import RouterFactory, provider, user
from tests.inference.upstreams import Upstream

pytestmark = pytest.mark.anyio

CACHED = {"inference_cache_enabled": True}


def test_what_is_cacheable() -> None:
    assert cacheable({"temperature": 0})
    assert cacheable({"temperature": 0.0, "stream": False})
    assert not cacheable({})
    assert not cacheable({"temperature": 0.7})
    assert not cacheable({"temperature": 0, "stream": True})
    assert not cacheable({"temperature": False})


def test_key_ignores_order_stream_and_user() -> None:
    a = {"model": "m", "temperature": 0, "messages": [{"role": "user", "content": "x"}]}
    b = {"messages": [{"content": "x", "role": "user"}], "temperature": 0, "model": "m"}
    assert cache_key(a, None) == cache_key({**b, "stream": False, "user": "u2"}, None)
    assert cache_key(a, None) != cache_key(a, "other-provider")
    assert cache_key(a, None) != cache_key({**a, "seed": 1}, None)


def test_lru_and_ttl() -> None:
    now = [0.0]
    cache = ResponseCache(enabled=True, ttl_seconds=10, max_entries=2, clock=lambda: now[0])
    cache.put("a", {"v": 1}, "p")
    cache.put("b", {"v": 2}, "p")
    assert cache.get("a") == ({"v": 1}, "p")  # a is now the most recent
    cache.put("c", {"v": 3}, "p")  # evicts b
    assert cache.get("b") is None
    assert cache.get("a") is not None
    now[0] = 11
    assert cache.get("c") is None  # expired
    stats = cache.stats()
    assert {k: stats[k] for k in ("hits", "misses", "evictions", "size")} == {
        "hits": 2,
        "misses": 2,
        "evictions": 2,
        "size": 1,
    }


def test_cached_answers_are_copies() -> None:
    cache = ResponseCache(enabled=True, ttl_seconds=10, max_entries=2)
    answer = {"choices": [{"message": {"content": "x"}}]}
    cache.put("k", answer, "p")
    answer["choices"][0]["message"]["content"] = "changed"
    hit = cache.get("k")
    assert hit is not None
    hit[0]["choices"].clear()
    assert cache.get("k") == ({"choices": [{"message": {"content": "x"}}]}, "p")


async def test_second_identical_temperature_zero_request_is_a_hit(
    router_with: RouterFactory, openai_up: Upstream
) -> None:
    async with router_with(provider("o", openai_up, "gpt-*"), **CACHED) as router:
        first, used = await router.complete(user("hi", model="gpt-4o", temperature=0))
        second, used_again = await router.complete(
            user("hi", model="gpt-4o", temperature=0, user="someone-else")
        )
        assert second == first
        assert used == used_again == "o"
        assert len(openai_up.received) == 1
        stats = router.cache_stats()
        assert stats["enabled"] is True
        assert (stats["hits"], stats["misses"], stats["size"], stats["evictions"]) == (1, 1, 1, 0)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stats["last_access"])

        router.clear_cache()
        assert router.cache_stats()["size"] == 0
        await router.complete(user("hi", model="gpt-4o", temperature=0))
        assert len(openai_up.received) == 2


async def test_no_caching_above_zero_or_when_streamed(
    router_with: RouterFactory, openai_up: Upstream
) -> None:
    async with router_with(provider("o", openai_up, "gpt-*"), **CACHED) as router:
        for _ in range(2):
            await router.complete(user("hi", model="gpt-4o", temperature=0.7))
            await router.complete(user("hi", model="gpt-4o"))
            chunks, _ = await router.stream(user("hi", model="gpt-4o", temperature=0))
            async for _chunk in chunks:
                pass
        assert len(openai_up.received) == 6
        assert router.cache_stats()["hits"] == 0


async def test_entries_expire(router_with: RouterFactory) -> None:
    async with router_with(inference_cache_enabled=True, inference_cache_ttl_seconds=0.2) as r:
        await r.complete(user("hi", model="mock", temperature=0))
        await r.complete(user("hi", model="mock", temperature=0))
        await anyio.sleep(0.3)
        await r.complete(user("hi", model="mock", temperature=0))
        stats = r.cache_stats()
    assert (stats["hits"], stats["misses"], stats["evictions"]) == (1, 2, 1)


async def test_off_by_default(router_with: RouterFactory, openai_up: Upstream) -> None:
    async with router_with(provider("o", openai_up, "gpt-*")) as router:
        for _ in range(2):
            await router.complete(user("hi", model="gpt-4o", temperature=0))
        assert router.cache_stats() == {
            "enabled": False,
            "hits": 0,
            "misses": 0,
            "evictions": 0,
            "size": 0,
        }
    assert len(openai_up.received) == 2
