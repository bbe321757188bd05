"""Several ``maia serve`` processes over one PostgreSQL database (docs/operations.md):
writes are seen by every node at once, a node killed mid-write loses no acknowledged
write, quotas hold across nodes, and nodes started together on a fresh database all
come up (migrations under an advisory lock).

Node start-up (imports) dominates the cost, so one pair of nodes with authentication on
serves the write, kill and quota tests (the kill test adds a third node of its own),
kept apart by namespace and tenant names; the start-up race gets a database of its own.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from maia import Maia, Settings
from maia.models import ApiKeyCreate, Scope
from maia.store.postgres.schema import MIGRATION_LOCK, SCHEMA_VERSION
from tests import pg_server
from tests.conftest import REQUIRE_POSTGRES

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

START_TIMEOUT = 60  # seconds; a loaded two-core machine takes 4 to 9 s per node


def _free_ports(count: int) -> list[int]:
    """``count`` distinct free ports (the sockets are held until all are picked)."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def _node_environment(data_dir: Path) -> dict[str, str]:
    """The test process's environment without its MAIA_* variables (module fixtures run
    outside the autouse isolation), plus a data dir of the node's own (audit log)."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("MAIA_")}
    env.update(
        MAIA_DATA_DIR=str(data_dir),
        MAIA_EMBEDDING_PROVIDER="hashing",
        MAIA_RATE_LIMIT_RPS="0",
        MAIA_LOG_LEVEL="warning",
    )
    return env


class Node:
    """One ``maia serve --database-url`` process, spawned without waiting for it (so
    several start at the same moment); its stderr goes to a file, read on failure.
    Like tests/cli/test_serve.py's ``maia_process``, for several processes at once."""

    def __init__(self, database_url: str, root: Path, port: int, *args: str) -> None:
        root.mkdir(parents=True)
        self.url = f"http://127.0.0.1:{port}"
        self.log = root / "stderr.log"
        with self.log.open("wb") as stderr:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "maia",
                    "serve",
                    "--port",
                    str(port),
                    "--database-url",
                    database_url,
                    *args,
                ],
                env=_node_environment(root / "data"),
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_healthy(self, deadline: float) -> None:
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"maia serve exited {self.proc.returncode}:\n{self.output()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"maia serve did not become healthy:\n{self.output()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@contextlib.contextmanager
def running_nodes(
    database_url: str,
    root: Path,
    count: int,
    *args: str,
    spawned: Callable[[list[Node]], None] | None = None,
) -> Iterator[list[Node]]:
    """``count`` nodes over ``database_url``, all spawned (then ``spawned`` is called)
    before any is waited on; stopped (terminate, then kill) on the way out, whatever
    happened."""
    nodes: list[Node] = []
    try:
        for port in _free_ports(count):
            nodes.append(Node(database_url, root / f"node{len(nodes)}", port, *args))
        if spawned is not None:
            spawned(nodes)
        deadline = time.monotonic() + START_TIMEOUT
        for node in nodes:
            node.wait_healthy(deadline)
        yield nodes
    finally:
        for node in nodes:
            node.stop()


@dataclass
class Cluster:
    database_url: str
    nodes: list[Node]
    admin_key: str
    root: Path

    def client(self, node: int | Node, key: str | None = None) -> httpx.Client:
        url = node.url if isinstance(node, Node) else self.nodes[node].url
        headers = {"X-API-Key": key or self.admin_key}
        return httpx.Client(base_url=url, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def cluster(
    postgres_server: pg_server.PostgresServer | str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """Two nodes with ``--auth`` over a new schema, prepared first in-process (schema,
    system tenant and an admin key, created in the database directly)."""
    root = tmp_path_factory.mktemp("multinode")
    server = pg_server.usable(postgres_server, required=REQUIRE_POSTGRES)
    with server.schema() as url:
        with pytest.MonkeyPatch.context() as env:
            for name in list(os.environ):
                if name.upper().startswith("MAIA_"):
                    env.delenv(name)
            settings = Settings.load(data_dir=root / "admin", embedding_provider="hashing")
        with Maia.open(url, settings=settings) as maia:
            created = maia.create_api_key(
                "system", ApiKeyCreate(name="root", scopes=[Scope.ADMIN, Scope.ALL])
            )
        with running_nodes(url, root, 2, "--auth") as nodes:
            yield Cluster(url, nodes, created.key, root)


def _ns() -> str:
    return f"mn-{uuid.uuid4().hex[:12]}"


def _search_ids(client: httpx.Client, query: str, namespace: str) -> list[str]:
    response = client.post("/v1/memories/search", json={"query": query, "namespace": namespace})
    assert response.status_code == 200, response.text
    return [r["memory"]["id"] for r in response.json()["data"]]


def _list_all(client: httpx.Client, namespace: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        page = client.get(
            "/v1/memories", params={"namespace": namespace, "limit": 1000, "offset": len(found)}
        )
        assert page.status_code == 200, page.text
        found += page.json()["data"]
        if page.json()["count"] < 1000:
            return found


def test_two_nodes_started_together_on_a_fresh_database_both_come_up(
    postgres_server: pg_server.PostgresServer | str, tmp_path: Path
) -> None:
    """Both nodes are held at the migration lock (taken by the test) until both wait
    for it, then let go together: one migrates while the other waits, and both finish
    their start-up (system tenant, default namespace) at the same moment."""
    server = pg_server.usable(postgres_server, required=REQUIRE_POSTGRES)
    with server.database() as url, psycopg.connect(url, autocommit=True) as gate:
        gate.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))

        def release_together(nodes: list[Node]) -> None:
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline and all(n.proc.poll() is None for n in nodes):
                row = gate.execute(
                    "SELECT count(*) FROM pg_locks JOIN pg_database d ON d.oid = database "
                    "WHERE locktype = 'advisory' AND NOT granted AND datname = current_database()"
                ).fetchone()
                if row == (len(nodes),):
                    break
                time.sleep(0.02)
            gate.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))

        with running_nodes(url, tmp_path, 2, spawned=release_together) as nodes:
            for node in nodes:
                assert httpx.get(f"{node.url}/ready", timeout=10).json() == {"status": "ready"}
            with httpx.Client(base_url=nodes[0].url, timeout=30) as a:
                created = a.post("/v1/memories", json={"namespace": "n", "content": "hello"})
                assert created.status_code == 201, created.text
            with httpx.Client(base_url=nodes[1].url, timeout=30) as b:
                assert b.get(f"/v1/memories/{created.json()['id']}").status_code == 200
            for node in nodes:
                assert node.proc.poll() is None
                assert "Traceback" not in node.output()
        # Each migration ran once, whichever node applied it; one system tenant.
        versions = [row[0] for row in gate.execute("SELECT version FROM schema_version")]
        tenants = gate.execute("SELECT count(*) FROM tenants WHERE id = 'system'").fetchone()
    assert sorted(versions) == list(range(1, SCHEMA_VERSION + 1))
    assert tenants == (1,)


def test_nodes_starting_together_create_the_system_tenant_once(
    postgres_url: str, make_settings: Callable[..., Settings]
) -> None:
    """The start-up step after the migrations, made to collide for certain: two nodes
    (in-process) over a database without its system tenant both read "absent", then
    both insert (the test holds inserts back until both are there); neither may fail."""
    settings = make_settings()
    with (
        Maia.open(postgres_url, settings=settings) as one,
        Maia.open(postgres_url, settings=settings) as two,
        psycopg.connect(postgres_url, autocommit=True) as gate,
    ):
        gate.execute("DELETE FROM tenants WHERE id = 'system'")
        failures: list[BaseException] = []

        def start(node: Maia) -> None:
            try:
                node.ensure_system_tenant()
            except BaseException as exc:  # reported below
                failures.append(exc)

        with gate.transaction():
            gate.execute("LOCK TABLE tenants IN SHARE MODE")  # reads pass, inserts wait
            threads = [threading.Thread(target=start, args=(n,)) for n in (one, two)]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and any(t.is_alive() for t in threads):
                row = gate.execute(
                    "SELECT count(*) FROM pg_locks "
                    "WHERE relation = 'tenants'::regclass AND NOT granted"
                ).fetchone()
                if row == (2,):
                    break
                time.sleep(0.01)
        for thread in threads:
            thread.join(timeout=10)
        count = gate.execute("SELECT count(*) FROM tenants WHERE id = 'system'").fetchone()
    assert failures == []
    assert count == (1,)


def test_a_write_on_one_node_is_read_on_the_other_at_once(cluster: Cluster) -> None:
    ns = _ns()
    with cluster.client(0) as a, cluster.client(1) as b:
        created = a.post(
            "/v1/memories",
            json={"namespace": ns, "content": "Alice prefers green tea", "tags": ["drink"]},
        )
        assert created.status_code == 201, created.text
        memory_id = created.json()["id"]

        assert _search_ids(b, "green tea", ns) == [memory_id]
        got = b.get(f"/v1/memories/{memory_id}")
        assert got.status_code == 200
        assert got.json()["content"] == "Alice prefers green tea"

        updated = b.put(f"/v1/memories/{memory_id}", json={"content": "Alice prefers oolong"})
        assert updated.status_code == 200, updated.text
        assert a.get(f"/v1/memories/{memory_id}").json()["content"] == "Alice prefers oolong"
        assert _search_ids(a, "oolong", ns) == [memory_id]

        assert a.delete(f"/v1/memories/{memory_id}").json() == {"deleted": True}
        assert b.get(f"/v1/memories/{memory_id}").status_code == 404
        assert _search_ids(b, "oolong", ns) == []
        assert _list_all(b, ns) == []


def test_a_node_killed_mid_write_loses_no_acknowledged_write(cluster: Cluster) -> None:
    ns = _ns()
    acknowledged: list[str] = []
    sent: list[str] = []  # contents in the order they were sent
    refused: list[str] = []  # answers other than 201 (there should be none)
    stop = threading.Event()

    def writer(url: str) -> None:
        with httpx.Client(
            base_url=url, headers={"X-API-Key": cluster.admin_key}, timeout=10
        ) as http:
            while not stop.is_set():
                sent.append(f"crash note {len(sent)}")
                try:
                    response = http.post(
                        "/v1/memories", json={"namespace": ns, "content": sent[-1]}
                    )
                except httpx.TransportError:
                    return  # the node is gone; the acknowledged ids are in the list
                if response.status_code != 201:
                    refused.append(f"{response.status_code} {response.text}")
                    return
                acknowledged.append(response.json()["id"])

    with running_nodes(cluster.database_url, cluster.root / "doomed", 1, "--auth") as (doomed,):
        thread = threading.Thread(target=writer, args=(doomed.url,))
        thread.start()
        try:
            started = time.monotonic()
            while (time.monotonic() - started < 1 or len(acknowledged) < 10) and (
                time.monotonic() - started < 20 and thread.is_alive()
            ):
                time.sleep(0.01)
            os.kill(doomed.proc.pid, signal.SIGKILL)  # the writer is mid-stream
            doomed.proc.wait(timeout=10)
        finally:
            stop.set()
            thread.join(timeout=15)
    assert not thread.is_alive()
    assert refused == []
    assert doomed.proc.returncode == -signal.SIGKILL
    assert len(acknowledged) >= 10

    with cluster.client(1) as b:
        stored = _list_all(b, ns)
        stored_ids = [m["id"] for m in stored]
        assert set(acknowledged) <= set(stored_ids)
        # At most the request in flight committed without its answer; nothing else.
        assert len(stored) - len(acknowledged) in (0, 1)
        assert [m["content"] for m in stored] == sent[: len(stored)]
        for memory_id in (acknowledged[0], acknowledged[-1]):
            assert b.get(f"/v1/memories/{memory_id}").status_code == 200


def test_a_tenant_quota_holds_across_nodes(cluster: Cluster) -> None:
    name = _ns()
    with cluster.client(0) as a, cluster.client(1) as b:
        tenant = a.post("/admin/tenants", json={"name": name, "quotas": {"max_memories": 10}})
        assert tenant.status_code == 201, tenant.text
        tenant_id = tenant.json()["id"]
        created = b.post(
            f"/admin/tenants/{tenant_id}/apikeys", json={"name": "w", "scopes": ["read", "write"]}
        )
        assert created.status_code == 201, created.text
    key = created.json()["key"]

    answers: list[httpx.Response] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def writer(node: int, worker: int) -> None:
        with cluster.client(node, key) as http:
            start.wait(timeout=30)
            for i in range(5):
                response = http.post(
                    "/v1/memories", json={"namespace": "q", "content": f"n{node} w{worker} #{i}"}
                )
                with lock:
                    answers.append(response)

    threads = [threading.Thread(target=writer, args=(n % 2, n)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == 20

    statuses = sorted(r.status_code for r in answers)
    assert statuses == [201] * 10 + [429] * 10, [r.text for r in answers if r.status_code != 201]
    for refused in (r for r in answers if r.status_code == 429):
        assert refused.json()["code"] == "QUOTA_EXCEEDED"
        assert refused.json()["limit"] == 10
    for node in (0, 1):
        with cluster.client(node) as admin, cluster.client(node, key) as http:
            usage = admin.get(f"/admin/tenants/{tenant_id}/usage").json()["usage"]
            assert usage["memory_count"] == 10
            assert len(_list_all(http, "q")) == 10
