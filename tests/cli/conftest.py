"""Helpers for the client commands: a server shared by a module, and the runner."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from maia.cli import app
from tests.client.conftest import live_server
from tests.conftest import LiveServer


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for a whole module; tests keep apart by namespace (``ns``)."""
    with live_server(tmp_path_factory.mktemp("cli")) as server:
        yield server


@pytest.fixture
def ns() -> str:
    """A namespace name no other test uses."""
    return f"cli-{uuid.uuid4().hex[:12]}"


def maia(*args: str, env: dict[str, str] | None = None) -> Result:
    """``maia ARGS`` in-process; stdout and stderr apart."""
    return CliRunner().invoke(app, list(args), env=env)


class Api:
    """The server's own answers, over plain HTTP, to check the commands against."""

    def __init__(self, server: LiveServer) -> None:
        self.url = server.url

    def __call__(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"{self.url}{path}", timeout=30, **kwargs)
        response.raise_for_status()
        return response.json()


@pytest.fixture
def api(shared_server: LiveServer) -> Api:
    return Api(shared_server)
