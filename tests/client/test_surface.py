"""The SDK's shape: twin clients, and an import that loads nothing of the server."""

from __future__ import annotations

import inspect
import subprocess
import sys

from maia.client import AsyncClient, Client

SERVER_MODULES = (
    "fastapi",
    "starlette",
    "uvicorn",
    "onnxruntime",
    "usearch",
    "numpy",
    "tokenizers",
    "maia.service",
    "maia.store",
    "maia.retrieval",
    "maia.api",
    "maia.settings",
)


def public_methods(cls: type) -> dict[str, object]:
    return {
        name: member
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


def test_clients_are_twins() -> None:
    sync = public_methods(Client)
    not_async = {"close"}  # its twin is AsyncClient.aclose
    asynchronous = public_methods(AsyncClient)
    assert set(sync) - not_async == set(asynchronous) - {"aclose"}
    for name in set(sync) - not_async:
        sync_method, async_method = sync[name], asynchronous[name]
        assert inspect.iscoroutinefunction(async_method), name
        assert not inspect.iscoroutinefunction(sync_method), name
        assert inspect.signature(sync_method) == inspect.signature(async_method), name
        assert sync_method.__doc__ == async_method.__doc__, name
        assert sync_method.__doc__, f"{name} has no docstring"
    constructor = inspect.signature(Client.__init__).parameters
    assert list(constructor) == list(inspect.signature(AsyncClient.__init__).parameters)


def test_import_loads_nothing_of_the_server() -> None:
    code = (
        "import sys, maia.client\n"
        f"loaded = [m for m in {SERVER_MODULES!r} if m in sys.modules]\n"
        "print(','.join(loaded))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "", f"import maia.client loaded: {out.stdout.strip()}"


def test_maia_package_still_exports_the_library() -> None:
    code = "from maia import Maia, Settings, NotFound, __version__; print(Maia.__name__)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "Maia"
