"""Shared fixtures: real SQLite files in tmp dirs, real uvicorn servers on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Self

import httpx
import pytest
import uvicorn

from maia import Maia, Settings
from maia.api import create_app
from tests import pg_server

# Read at import: the autouse fixture below hides MAIA_* variables from each test.
REQUIRE_POSTGRES = os.environ.get("MAIA_TEST_REQUIRE_POSTGRES") == "1"


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the local model's int8 graph is derived, once per test session."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(autouse=True)
def _isolated_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, model_cache: Path
) -> None:
    """No MAIA_* variable of the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.upper().startswith("MAIA_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MAIA_DATA_DIR", str(tmp_path / "default-data"))
    monkeypatch.setenv("MAIA_MODEL_CACHE_DIR", str(model_cache))


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        # The hashing embedder keeps most tests fast; retrieval tests ask for "local".
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "rate_limit_rps": 0,
            "embedding_provider": "hashing",
        }
        values.update(overrides)
        return Settings.load(**values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def maia(settings: Settings) -> Iterator[Maia]:
    with Maia.open(settings=settings) as instance:
        yield instance


class AppServer:
    """Any ASGI app under a real uvicorn server on 127.0.0.1, in a thread, on a free port."""

    def __init__(
        self, app: Any, *, lifespan: str = "on", graceful_shutdown: float | None = None
    ) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            lifespan=lifespan,
            timeout_graceful_shutdown=graceful_shutdown,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def start(self) -> Self:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


class LiveServer(AppServer):
    """MAIA's REST app over ``maia`` on a real server."""

    def __init__(self, maia: Maia) -> None:
        super().__init__(create_app(maia))
        self.maia = maia


@contextlib.contextmanager
def running_server(data_dir: Path, **overrides: Any) -> Iterator[httpx.Client]:
    """A server with a store in ``data_dir``, for module-scoped fixtures (which cannot use
    ``serve``): the environment's MAIA_* variables are ignored, as in every test."""
    with pytest.MonkeyPatch.context() as env:
        for name in list(os.environ):
            if name.upper().startswith("MAIA_"):
                env.delenv(name)
        values: dict[str, Any] = {"rate_limit_rps": 0, "embedding_provider": "hashing"}
        settings = Settings.load(data_dir=data_dir, **{**values, **overrides})
    maia = Maia.open(settings=settings)
    server = LiveServer(maia).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            yield http
    finally:
        server.stop()
        maia.close()


@pytest.fixture
def serve(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., LiveServer]]:
    """Factory: ``serve(**settings)`` starts a server on a fresh store."""
    started: list[LiveServer] = []

    def start(maia: Maia | None = None, **overrides: Any) -> LiveServer:
        instance = maia or Maia.open(settings=make_settings(**overrides))
        server = LiveServer(instance).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
        server.maia.close()


@pytest.fixture
def server(serve: Callable[..., LiveServer]) -> LiveServer:
    return serve()


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[pg_server.PostgresServer | str]:
    """The session's bundled PostgreSQL (started on first use, stopped at the end), or
    why it could not start; tests take it through ``postgres_url`` or ``pg_server.usable``."""
    server = pg_server.start()
    yield server
    if not isinstance(server, str):
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: pg_server.PostgresServer | str) -> Iterator[str]:
    """A fresh, empty schema on the session's PostgreSQL (pgvector installed); skipped,
    or failed under MAIA_TEST_REQUIRE_POSTGRES=1, when PostgreSQL cannot run here."""
    with pg_server.usable(postgres_server, required=REQUIRE_POSTGRES).schema() as url:
        yield url
