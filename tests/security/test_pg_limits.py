"""Rate limits in PostgreSQL (``maia.security.pg_limits``): several limiters (nodes) over
one database share their counts, windows move on, concurrent hits never pass a limit,
and ``rate_limit_storage`` picks the database on its own when MAIA runs on PostgreSQL."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest

from maia import Maia, Settings
from maia.api import create_app
from maia.errors import InvalidInput, RateLimited, Unavailable
from maia.security.limits import RequestLimiter, storage_uri
from maia.security.pg_limits import PostgresStorage
from tests.conftest import LiveServer

ROOT = {"X-API-Key": "root-key"}


@pytest.fixture
def limiters(postgres_url: str) -> Iterator[Callable[..., RequestLimiter]]:
    """Factory: a RequestLimiter over the test's database, as one more node would build."""
    made: list[RequestLimiter] = []

    def make(**options: float) -> RequestLimiter:
        limiter = RequestLimiter(
            postgres_url,
            ip_rps=float(options.get("ip_rps", 0)),
            key_per_minute=int(options.get("key_per_minute", 0)),
        )
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        limiter.close()


def _storage(limiter: RequestLimiter) -> PostgresStorage:
    storage = limiter.storage
    assert isinstance(storage, PostgresStorage)
    return storage


def _key_hit(limiter: RequestLimiter, key: str = "key-hash") -> bool:
    try:
        limiter.check_caller(key_hash=key, tenant_id="t", tenant_per_minute=0, tenant_per_day=0)
    except RateLimited:
        return False
    return True


# -- choosing the storage ------------------------------------------------------------------


def test_storage_setting_resolves() -> None:
    url = "postgresql://u:p@db/maia"
    assert storage_uri("auto", None) == "memory://"
    assert storage_uri("auto", url) == url, "on PostgreSQL the limits hold across nodes"
    assert storage_uri("database", url) == url
    assert storage_uri("memory://", url) == "memory://", "an explicit URI wins"
    assert storage_uri("redis://cache:6379", None) == "redis://cache:6379"
    assert Settings.load().rate_limit_storage == "auto"


def test_database_storage_needs_database_url(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(InvalidInput, match="database_url is not set") as caught:
        storage_uri("database", None)
    assert caught.value.field == "rate_limit_storage"
    with (
        Maia.open(settings=make_settings(rate_limit_storage="database")) as maia,  # SQLite
        pytest.raises(InvalidInput, match="'database' counts requests in the store's"),
    ):
        create_app(maia)


# -- the storage -----------------------------------------------------------------------


@pytest.mark.postgres
def test_two_limiters_share_counts(limiters: Callable[..., RequestLimiter]) -> None:
    one, two = limiters(key_per_minute=5), limiters(key_per_minute=5)
    assert [_key_hit(one) for _ in range(3)] == [True] * 3
    assert [_key_hit(two) for _ in range(3)] == [True, True, False], "5 a minute in all"
    assert not _key_hit(one)
    assert _key_hit(one, "another-key"), "per key"
    with pytest.raises(RateLimited) as caught:
        two.check_caller(key_hash="key-hash", tenant_id="t", tenant_per_minute=0, tenant_per_day=0)
    headers = caught.value.extra["headers"]
    assert 58 <= caught.value.retry_after <= 60
    assert headers["X-RateLimit-Limit"] == "5"
    assert headers["X-RateLimit-Remaining"] == "0"
    assert 58 <= int(headers["X-RateLimit-Reset"]) <= 60


@pytest.mark.postgres
def test_window_reports_match_memory_semantics(limiters: Callable[..., RequestLimiter]) -> None:
    storage = _storage(limiters())
    before = time.time()
    assert storage.get_moving_window("k", 3, 60)[1] == 0
    assert storage.acquire_with_window("k", 3, 60) == (True, pytest.approx(before, abs=1), 1)
    assert storage.acquire_entry("k", 3, 60, amount=2)
    assert not storage.acquire_entry("k", 3, 60)
    assert not storage.acquire_entry("other", 3, 60, amount=4), "more than the limit"
    start, count = storage.get_moving_window("k", 3, 60)
    assert count == 3
    assert before - 1 <= start <= time.time() + 1, "the oldest hit, on the local clock"
    storage.clear("k")
    assert storage.get_moving_window("k", 3, 60)[1] == 0
    assert storage.acquire_entry("k", 3, 60)
    # The fixed-window operations of limits' Storage base class.
    assert [storage.incr("c", 60) for _ in range(3)] == [1, 2, 3]
    assert storage.get("c") == 3
    assert 58 < storage.get_expiry("c") - time.time() <= 61
    assert storage.check()
    assert storage.reset() == 2  # one moving window, one counter
    assert storage.get("c") == 0
    assert storage.get_moving_window("k", 3, 60)[1] == 0


@pytest.mark.postgres
def test_windows_move_on_and_idle_keys_are_swept(
    limiters: Callable[..., RequestLimiter], postgres_url: str
) -> None:
    one, two = _storage(limiters()), _storage(limiters())
    assert [one.acquire_entry("w", 2, 1), two.acquire_entry("w", 2, 1)] == [True, True]
    assert not one.acquire_entry("w", 2, 1)
    assert one.incr("fixed", 1) == 1
    time.sleep(1.05)
    assert two.acquire_entry("w", 2, 1), "the window moved on"
    assert two.get_moving_window("w", 2, 1)[1] == 1
    assert one.incr("fixed", 1) == 1, "a new fixed window"
    assert one.acquire_entry("idle", 5, 1)
    time.sleep(1.05)
    assert one.sweep() == 2, "'w' and 'idle' saw no hit for a window"
    with psycopg.connect(postgres_url) as conn:
        counts = [
            conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            for table in ("rate_limit_windows", "rate_limit_events", "rate_limit_counters")
        ]
    assert counts == [(0,), (0,), (0,)]
    assert one.acquire_entry("w", 2, 1)


@pytest.mark.postgres
def test_concurrent_hits_never_pass_the_limit(limiters: Callable[..., RequestLimiter]) -> None:
    nodes = [_storage(limiters()), _storage(limiters())]
    allowed: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def hammer(storage: PostgresStorage) -> None:
        start.wait()
        for _ in range(25):
            ok = storage.acquire_entry("hot", 30, 60)
            with lock:
                allowed.append(ok)

    threads = [threading.Thread(target=hammer, args=(node,)) for node in nodes for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(allowed) == 100
    assert allowed.count(True) == 30
    assert nodes[1].get_moving_window("hot", 30, 60)[1] == 30


@pytest.mark.postgres
def test_tenant_quota_holds_across_two_nodes(
    postgres_url: str, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(api_key="root-key")  # rate_limit_storage left at "auto"
    with contextlib.ExitStack() as stack:
        clients = []
        for _ in range(2):
            maia = stack.enter_context(Maia.open(postgres_url, settings=settings))
            server = LiveServer(maia).start()
            stack.callback(server.stop)
            clients.append(stack.enter_context(httpx.Client(base_url=server.url, timeout=30)))
        tenant = clients[0].post(
            "/admin/tenants",
            json={
                "name": f"t-{uuid.uuid4().hex[:8]}",
                "quotas": {"max_memories": 10, "requests_per_minute": 4},
            },
            headers=ROOT,
        )
        assert tenant.status_code == 201, tenant.text
        created = clients[1].post(
            f"/admin/tenants/{tenant.json()['id']}/apikeys", json={"name": "k"}, headers=ROOT
        )
        assert created.status_code == 201, created.text
        key = {"X-API-Key": created.json()["key"]}
        statuses = [c.get("/v1/stats", headers=key).status_code for c in clients * 3]
        assert statuses == [200, 200, 200, 200, 429, 429], "4 a minute over both nodes"


@pytest.mark.postgres
def test_a_lost_database_is_unavailable_not_a_crash(postgres_server: object) -> None:
    from tests import pg_server
    from tests.conftest import REQUIRE_POSTGRES

    server = pg_server.usable(postgres_server, required=REQUIRE_POSTGRES)  # type: ignore[arg-type]
    with server.database() as url:
        limiter = RequestLimiter(url, ip_rps=0, key_per_minute=5)
        try:
            assert _key_hit(limiter)
            server.drop_database(urlsplit(url).path.lstrip("/"))
            with pytest.raises(Unavailable, match="rate-limit storage"):
                _key_hit(limiter)
        finally:
            limiter.close()


def test_a_slow_limit_check_holds_up_its_request_only(
    postgres_url: str, make_settings: Callable[..., Settings]
) -> None:
    """A check that waits on the database (here: its key locked by another session)
    runs off the event loop: the node keeps answering everything else meanwhile."""
    from maia.security.pg_limits import LOCK_CLASS

    settings = make_settings(api_key="root-key", rate_limit_rps=0)
    with Maia.open(postgres_url, settings=settings) as maia:
        server = LiveServer(maia).start()
        try:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                tenant = client.post(
                    "/admin/tenants",
                    json={"name": "slow", "quotas": {"requests_per_minute": 50}},
                    headers=ROOT,
                )
                assert tenant.status_code == 201, tenant.text
                tenant_id = tenant.json()["id"]
                created = client.post(
                    f"/admin/tenants/{tenant_id}/apikeys", json={"name": "k"}, headers=ROOT
                )
                key = {"X-API-Key": created.json()["key"]}
                assert client.get("/v1/stats", headers=key).status_code == 200
                with psycopg.connect(postgres_url, autocommit=True) as other:
                    # The tenant's per-minute window, as the first request stored it.
                    row = other.execute(
                        "SELECT key FROM rate_limit_windows WHERE key LIKE %s",
                        (f"LIMITER/tenant/{tenant_id}/%",),
                    ).fetchone()
                    assert row is not None
                    limit_key = str(row[0])
                    other.execute(
                        "SELECT pg_advisory_lock(%s::int4, hashtext(%s))", (LOCK_CLASS, limit_key)
                    )
                    results: list[int] = []
                    waiting = threading.Thread(
                        target=lambda: results.append(
                            client.get("/v1/stats", headers=key).status_code
                        )
                    )
                    waiting.start()
                    time.sleep(0.5)
                    assert waiting.is_alive(), "the request waits for the locked key"
                    with httpx.Client(base_url=server.url, timeout=3) as probe:
                        assert probe.get("/health").status_code == 200
                        assert probe.get("/v1/stats", headers=ROOT).status_code == 200
                    assert waiting.is_alive()
                    other.execute(
                        "SELECT pg_advisory_unlock(%s::int4, hashtext(%s))",
                        (LOCK_CLASS, limit_key),
                    )
                    waiting.join(timeout=10)
                assert results == [200]
        finally:
            server.stop()
