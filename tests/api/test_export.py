"""``GET /v1/export`` over real HTTP: the same JSON Lines as the library, streamed."""

from __future__ import annotations

import json

import httpx

from maia.models import MemoryCreate
from maia.models.transfer import ExportFilter
from tests.conftest import LiveServer
from tests.transfer_data import comparable, populate, records


def test_export_equals_the_local_export(server: LiveServer, client: httpx.Client) -> None:
    populate(server.maia)
    response = client.get("/v1/export")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson"
    lines = response.text.split("\n")
    assert lines[-1] == ""
    remote = [line + "\n" for line in lines[:-1]]
    assert comparable(remote) == comparable(list(server.maia.export_lines()))


def test_export_filters_as_query_parameters(server: LiveServer, client: httpx.Client) -> None:
    populate(server.maia)
    params = {
        "namespace": "acme",
        "include_descendants": "true",
        "created_after": "2026-01-05T09:31:00Z",
        "with_embeddings": "true",
    }
    response = client.get("/v1/export", params=params)
    assert response.status_code == 200
    remote = [line + "\n" for line in response.text.split("\n")[:-1]]
    flt = ExportFilter.model_validate(params)
    assert comparable(remote) == comparable(list(server.maia.export_lines(flt)))
    header = json.loads(remote[0])
    assert header["filters"]["namespace"] == "acme"
    assert header["filters"]["with_embeddings"] is True
    assert all("embedding" in r for r in records(remote, "memory"))


def test_bad_query_parameters_are_400(client: httpx.Client) -> None:
    for value in ("last tuesday", "0.5", "1700000000"):
        response = client.get("/v1/export", params={"created_after": value})
        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "INVALID_INPUT"
        assert "created_after" in body["error"]


def test_large_export_streams_in_chunks(server: LiveServer, client: httpx.Client) -> None:
    server.maia.create_memories(
        [MemoryCreate(namespace="bulk", content=f"bulk memory number {i}") for i in range(600)]
    )
    local = list(server.maia.export_lines(ExportFilter(with_embeddings=True)))
    assert sum(len(line) for line in local) > 4 * 64 * 1024
    chunks = []
    with client.stream("GET", "/v1/export", params={"with_embeddings": "true"}) as response:
        chunks = list(response.iter_bytes())
    assert len(chunks) > 1
    remote = b"".join(chunks).decode().split("\n")[:-1]
    assert comparable([line + "\n" for line in remote]) == comparable(local)


def test_client_leaving_early_releases_the_export(server: LiveServer) -> None:
    server.maia.create_memories(
        [MemoryCreate(namespace="bulk", content=f"bulk memory number {i}") for i in range(600)]
    )
    for _ in range(3):
        with (
            httpx.Client(base_url=server.url, timeout=30) as early,
            early.stream("GET", "/v1/export", params={"with_embeddings": "true"}) as response,
        ):
            first = next(response.iter_bytes())
            assert first.startswith(b'{"kind":"header"')
    # The server goes on serving and writing; a full export still works.
    server.maia.remember("written after the abandoned exports", namespace="bulk")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        end = json.loads(client.get("/v1/export").text.split("\n")[-2])
    assert end["memories"] == 601
