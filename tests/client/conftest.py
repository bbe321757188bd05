"""SDK test helpers: one live server per module, both clients behind one blocking
surface, and a scripted HTTP server for answers MAIA does not give on demand."""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal

from maia import Maia, Settings
from maia.client import AsyncClient, Client
from tests.conftest import LiveServer


@contextlib.contextmanager
def live_server(data_dir: Path, **overrides: Any) -> Iterator[LiveServer]:
    """A server on a fresh store, usable from module-scoped fixtures; the shell's MAIA_*
    variables are ignored, as in every test."""
    with pytest.MonkeyPatch.context() as env:
        for name in list(os.environ):
            if name.upper().startswith("MAIA_"):
                env.delenv(name)
        values: dict[str, Any] = {
            "rate_limit_rps": 0,
            "embedding_provider": "hashing",
            "sqlite_synchronous": "normal",  # no fsync per write: these tests are not about it
        }
        settings = Settings.load(data_dir=data_dir, **{**values, **overrides})
    maia = Maia.open(settings=settings)
    server = LiveServer(maia).start()
    try:
        yield server
    finally:
        server.stop()
        maia.close()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for a whole module; tests keep apart by namespace (``ns``)."""
    with live_server(tmp_path_factory.mktemp("shared")) as server:
        yield server


@pytest.fixture
def ns() -> str:
    """A namespace name no other test uses."""
    return f"t-{uuid.uuid4().hex[:12]}"


class Blocking:
    """An ``AsyncClient`` driven from synchronous tests through an anyio portal: every
    coroutine method runs on the portal's event loop and returns its result."""

    def __init__(self, portal: BlockingPortal, client: AsyncClient) -> None:
        self._portal = portal
        self.client = client

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.client, name)
        if not inspect.iscoroutinefunction(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._portal.call(functools.partial(attr, *args, **kwargs))

        return call


Connect = Callable[..., Any]


@pytest.fixture(params=["sync", "async"])
def connect(request: pytest.FixtureRequest) -> Iterator[Connect]:
    """Factory: ``connect(url, **options)`` gives a ``Client``, or an ``AsyncClient``
    behind :class:`Blocking`; the test runs once with each. Closed at teardown."""
    with contextlib.ExitStack() as stack:
        if request.param == "sync":

            def make(base_url: str | None = None, **options: Any) -> Any:
                return stack.enter_context(Client(base_url, **options))

        else:
            portal = stack.enter_context(start_blocking_portal())

            def make(base_url: str | None = None, **options: Any) -> Any:
                client = AsyncClient(base_url, **options)
                stack.callback(portal.call, client.aclose)
                return Blocking(portal, client)

        yield make


@pytest.fixture
def api(connect: Connect, shared_server: LiveServer) -> Any:
    """A client (sync or async) of the module's shared server."""
    return connect(shared_server.url)


# -- a scripted HTTP server ----------------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-encoded unless bytes or str
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


class ScriptedServer:
    """A real HTTP server on 127.0.0.1 answering from a script, one reply per request
    (the last one repeats), recording what it was sent."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.seen: list[Seen] = []
        script = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                script.seen.append(
                    Seen(self.command, self.path, dict(self.headers), body, time.monotonic())
                )
                reply = script.replies.pop(0) if len(script.replies) > 1 else script.replies[0]
                if reply.drop:
                    self.close_connection = True
                    return
                if isinstance(reply.body, bytes):
                    payload = reply.body
                elif isinstance(reply.body, str):
                    payload = reply.body.encode()
                else:
                    payload = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", **reply.headers}
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _answer  # noqa: N815

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def script(self, *replies: Reply) -> ScriptedServer:
        self.replies = list(replies)
        self.seen = []
        return self

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@pytest.fixture(scope="module")
def scripted() -> Iterator[ScriptedServer]:
    """One scripted server per module; each test sets its script (which clears ``seen``)."""
    with ScriptedServer() as server:
        yield server


def memory_json(**overrides: Any) -> dict[str, Any]:
    """A Memory as the server sends it."""
    body = {
        "id": str(uuid.uuid4()),
        "namespace": "default",
        "content": "x",
        "type": "semantic",
        "created_at": "2026-02-01T10:00:00Z",
        "updated_at": "2026-02-01T10:00:00Z",
        "accessed_at": "2026-02-01T10:00:00Z",
        "access_count": 0,
        "confidence": 1.0,
        "source": "user",
    }
    body.update(overrides)
    return body
