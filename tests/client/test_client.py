"""Health, readiness, stats, configuration and lifecycle of both clients; the
in-process path over ASGI."""

from __future__ import annotations

import json

import anyio
import httpx
import pytest

from maia import Maia, __version__
from maia.api import create_app
from maia.client import AsyncClient, Client, Health, NotFoundError, Stats, UnavailableError
from tests.client.conftest import Connect, Reply, ScriptedServer
from tests.conftest import LiveServer

STATS = {
    "total_memories": 0,
    "total_namespaces": 1,
    "storage_size_bytes": 0,
    "last_compaction": "0001-01-01T00:00:00Z",
}


def test_health_ready_stats(connect: Connect, server: LiveServer) -> None:
    api = connect(server.url)
    assert api.health() == Health(status="healthy", service="maia")
    assert api.ready() is None
    before = api.stats()
    assert isinstance(before, Stats)
    assert (before.total_memories, before.total_namespaces) == (0, 1)
    api.create_memory("default", "one")
    api.create_namespace("two")
    after = api.stats()
    assert (after.total_memories, after.total_namespaces) == (1, 2)
    assert after.storage_size_bytes > 0


def test_not_ready_is_unavailable_and_not_retried(
    connect: Connect, scripted: ScriptedServer
) -> None:
    scripted.script(Reply(503, {"status": "not ready", "error": "database is closed"}))
    api = connect(scripted.url, max_retries=3, backoff=0.01)
    with pytest.raises(UnavailableError) as caught:
        api.ready()
    assert caught.value.message == "database is closed"
    assert len(scripted.seen) == 1


def test_base_url_from_environment(
    connect: Connect, server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAIA_URL", server.url + "/")
    api = connect()
    assert api.base_url == server.url
    assert api.health().status == "healthy"


def test_default_base_url() -> None:
    with Client() as client:
        assert client.base_url == "http://localhost:8080"
        assert repr(client) == "Client(base_url='http://localhost:8080')"


def test_headers_sent(
    connect: Connect, scripted: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripted.script(Reply(200, STATS))
    monkeypatch.setenv("MAIA_API_KEY", "from-env")
    connect(scripted.url).stats()
    connect(scripted.url, api_key="from-arg", headers={"X-Request-ID": "req-1"}).stats()
    connect(scripted.url, api_key="").stats()  # an empty key sends none
    env, arg, none = (seen.headers for seen in scripted.seen)
    assert env["X-API-Key"] == "from-env"
    assert arg["X-API-Key"] == "from-arg"
    assert arg["X-Request-ID"] == "req-1"
    assert "X-API-Key" not in none
    assert env["User-Agent"] == f"maia-client/{__version__}"
    assert env["Accept"] == "application/json"


def test_bodies_and_paths_on_the_wire(connect: Connect, scripted: ScriptedServer) -> None:
    scripted.script(Reply(200, {"data": [], "count": 0, "offset": 0, "limit": 100}))
    api = connect(scripted.url)
    api.search_memories()
    api.search_memories("tea", namespace="a/b", types=["working"], limit=3)
    api.list_memories("a/b", types=["working", "episodic"], include_descendants=True)
    api.list_namespace_memories("a/b c?", limit=2, offset=0)
    empty, search, listing, by_name = scripted.seen
    assert (empty.method, empty.path, json.loads(empty.body)) == ("POST", "/v1/memories/search", {})
    assert empty.headers["Content-Type"] == "application/json"
    assert json.loads(search.body) == {
        "query": "tea",
        "namespace": "a/b",
        "types": ["working"],
        "limit": 3,
    }
    assert listing.path == (
        "/v1/memories?namespace=a%2Fb&include_descendants=true&type=working&type=episodic"
    )
    assert by_name.path == "/v1/namespaces/a%2Fb%20c%3F/memories?limit=2&offset=0"


def test_sync_lifecycle(server: LiveServer) -> None:
    with Client(server.url, timeout=httpx.Timeout(5.0)) as client:
        assert client.health().status == "healthy"
    with pytest.raises(RuntimeError):  # httpx: the client has been closed
        client.health()
    other = Client(server.url)
    other.close()


def test_async_lifecycle(server: LiveServer) -> None:
    async def scenario() -> None:
        async with AsyncClient(server.url) as client:
            assert (await client.health()).status == "healthy"
            assert repr(client) == f"AsyncClient(base_url={server.url!r})"
        other = AsyncClient(server.url)
        await other.aclose()

    anyio.run(scenario)


def test_in_process_over_asgi(maia: Maia) -> None:
    """No socket: the app is mounted in the client (ASGITransport runs no lifespan,
    which the plain routes do not need)."""

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=create_app(maia))
        async with AsyncClient("http://maia.test", transport=transport) as client:
            memory = await client.remember("alice", "Alice prefers green tea", tags=["tea"])
            assert (await client.get_memory(memory.id)).content == "Alice prefers green tea"
            hits = await client.search_memories("green tea", namespace="alice")
            assert hits.data[0].memory.id == memory.id
            context = await client.recall("What does Alice drink?", namespace="alice")
            assert "green tea" in context.content
            assert (await client.stats()).total_memories == 1
            await client.forget(memory.id)
            with pytest.raises(NotFoundError):
                await client.get_memory(memory.id)

    anyio.run(scenario)


def test_negative_retries_refused() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        Client(max_retries=-1)
