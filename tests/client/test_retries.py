"""Retries against a real local HTTP server that answers from a script: which calls are
retried, after what, and how long the client waits."""

from __future__ import annotations

import pytest

from maia.client import (
    NetworkError,
    QuotaExceededError,
    RateLimitedError,
    RetryPolicy,
    UnavailableError,
)
from tests.client.conftest import Connect, Reply, ScriptedServer, memory_json

STATS = {
    "total_memories": 3,
    "total_namespaces": 1,
    "storage_size_bytes": 4096,
    "last_compaction": "0001-01-01T00:00:00Z",
}
PAGE = {"data": [], "count": 0, "offset": 0, "limit": 100}
BUSY = Reply(503, {"error": "database is busy", "code": "UNAVAILABLE"})
SLOW_DOWN = Reply(429, {"error": "rate_limit_exceeded", "message": "too many requests"})
FAST = {"backoff": 0.01}


def test_unavailable_then_ok(connect: Connect, scripted: ScriptedServer) -> None:
    scripted.script(BUSY, BUSY, Reply(200, STATS))
    assert connect(scripted.url, **FAST).stats().total_memories == 3
    assert len(scripted.seen) == 3


def test_gives_up_after_max_retries(connect: Connect, scripted: ScriptedServer) -> None:
    scripted.script(BUSY)
    with pytest.raises(UnavailableError, match="database is busy"):
        connect(scripted.url, max_retries=3, **FAST).get_memory("m1")
    assert len(scripted.seen) == 4


def test_no_retries_when_zero(connect: Connect, scripted: ScriptedServer) -> None:
    scripted.script(BUSY, Reply(200, STATS))
    with pytest.raises(UnavailableError):
        connect(scripted.url, max_retries=0).stats()
    assert len(scripted.seen) == 1


def test_retry_after_is_honoured(connect: Connect, scripted: ScriptedServer) -> None:
    slow_down = Reply(429, SLOW_DOWN.body, headers={"Retry-After": "1"})
    scripted.script(slow_down, Reply(200, PAGE))
    result = connect(scripted.url, **FAST).search_memories("tea")  # a read-only POST
    assert result.count == 0
    first, second = scripted.seen
    assert second.at - first.at >= 0.9  # waited what the server asked, not 10 ms


def test_too_long_retry_after_is_raised_at_once(connect: Connect, scripted: ScriptedServer) -> None:
    scripted.script(Reply(429, SLOW_DOWN.body, headers={"Retry-After": "3600"}), Reply(200, STATS))
    with pytest.raises(RateLimitedError) as caught:
        connect(scripted.url, **FAST).stats()
    assert caught.value.retry_after == 3600
    assert len(scripted.seen) == 1


def test_rate_limited_without_retry_after_backs_off(
    connect: Connect, scripted: ScriptedServer
) -> None:
    scripted.script(SLOW_DOWN, Reply(200, memory_json(id="m1")))
    assert connect(scripted.url, **FAST).get_memory("m1").id == "m1"
    assert len(scripted.seen) == 2


def test_dropped_connection_is_retried(connect: Connect, scripted: ScriptedServer) -> None:
    scripted.script(Reply(drop=True), Reply(200, {"deleted": True}))
    assert connect(scripted.url, **FAST).delete_memory("m1") is None
    assert [s.method for s in scripted.seen] == ["DELETE", "DELETE"]


@pytest.mark.parametrize(
    "first", [BUSY, SLOW_DOWN, Reply(drop=True)], ids=["503", "429", "dropped"]
)
def test_create_is_never_retried(connect: Connect, scripted: ScriptedServer, first: Reply) -> None:
    scripted.script(first, Reply(201, memory_json()))
    api = connect(scripted.url, max_retries=5, **FAST)
    with pytest.raises((UnavailableError, RateLimitedError, NetworkError)):
        api.create_memory("default", "x")
    assert len(scripted.seen) == 1


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("create_namespace", ("n",)),
        ("create_memories", ([{"namespace": "a", "content": "b"}],)),
        ("touch_memories", (["m1"],)),
        ("delete_memories", (["m1"],)),
        ("create_relation", ("m1", "m2")),
        ("create_tenant", ("acme",)),
        ("create_api_key", ("t1", "ci")),
        ("suspend_tenant", ("t1",)),
    ],
)
def test_other_writes_are_not_retried(
    connect: Connect, scripted: ScriptedServer, name: str, args: tuple[object, ...]
) -> None:
    scripted.script(BUSY)
    with pytest.raises(UnavailableError):
        getattr(connect(scripted.url, **FAST), name)(*args)
    assert len(scripted.seen) == 1


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("update_memory", ("m1",)),
        ("get_namespace", ("a/b",)),
        ("get_context", ("tea",)),
        ("list_namespaces", ()),
        ("delete_namespace", ("a",)),
    ],
)
def test_idempotent_calls_are_retried(
    connect: Connect, scripted: ScriptedServer, name: str, args: tuple[object, ...]
) -> None:
    scripted.script(BUSY, Reply(500, {"error": "boom", "code": "INTERNAL_ERROR"}))
    with pytest.raises(Exception, match="boom"):  # the 503 was retried, the 500 is not
        getattr(connect(scripted.url, **FAST), name)(*args)
    assert len(scripted.seen) == 2
    assert scripted.seen[0].path == scripted.seen[1].path


def test_quota_is_not_retried(connect: Connect, scripted: ScriptedServer) -> None:
    scripted.script(Reply(429, {"error": "quota", "code": "QUOTA_EXCEEDED", "limit": 1}))
    with pytest.raises(QuotaExceededError):
        connect(scripted.url, **FAST).stats()
    assert len(scripted.seen) == 1


def test_policy_delays() -> None:
    policy = RetryPolicy(max_retries=4, backoff=1.0, max_backoff=3.0)
    busy = UnavailableError(503, None, "busy")
    for attempt, (low, high) in enumerate([(0.5, 1.0), (1.0, 2.0), (1.5, 3.0), (1.5, 3.0)]):
        delay = policy.delay(True, attempt, busy)
        assert delay is not None
        assert low <= delay <= high
    assert policy.delay(True, 4, busy) is None
    assert policy.delay(False, 0, busy) is None
    told = RateLimitedError(429, None, "slow", retry_after=2.5)
    assert policy.delay(True, 0, told) == 2.5
    assert policy.delay(True, 0, RateLimitedError(429, None, "slow", retry_after=61)) is None
    assert policy.delay(True, 0, NetworkError("down")) is not None
