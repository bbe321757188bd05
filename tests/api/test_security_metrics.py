"""Security and service metrics on /metrics: auth failures, quota rejections, tenant
requests and usage, index size, operation timings."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.conftest import LiveServer

ROOT = {"X-API-Key": "root-key"}


def test_metrics_count_security_events_and_operations(serve: Callable[..., LiveServer]) -> None:
    server = serve(api_key="root-key")
    with httpx.Client(base_url=server.url, timeout=30) as http:
        tenant = http.post(
            "/admin/tenants", json={"name": "m", "quotas": {"max_memories": 1}}, headers=ROOT
        ).json()
        key = {
            "X-API-Key": http.post(
                f"/admin/tenants/{tenant['id']}/apikeys", json={"name": "k"}, headers=ROOT
            ).json()["key"]
        }
        for _ in range(2):
            http.post("/v1/memories", json={"namespace": "n", "content": "x y"}, headers=key)
        http.post("/v1/memories/search", json={"query": "x"}, headers=key)
        http.post("/v1/context", json={"query": "x", "namespace": "n"}, headers=key)
        http.get("/v1/stats")
        http.get("/v1/stats", headers={"X-API-Key": "maia_nope"})
        text = http.get("/metrics").text

    def value(sample: str) -> float:
        line = next(line for line in text.splitlines() if line.startswith(sample + " "))
        return float(line.split()[-1])

    assert value('maia_auth_failures_total{code="UNAUTHORIZED"}') == 2
    assert (
        value(
            f'maia_quota_rejections_total{{quota="memory quota exceeded",tenant="{tenant["id"]}"}}'
        )
        == 1
    )
    assert value(f'maia_tenant_requests_total{{tenant="{tenant["id"]}"}}') == 4
    assert value(f'maia_tenant_memories{{tenant="{tenant["id"]}"}}') == 1
    assert value(f'maia_tenant_storage_bytes{{tenant="{tenant["id"]}"}}') == 3
    assert value("maia_vector_index_size") == 1
    for operation in ("embed", "search", "context", "store_write"):
        assert value(f'maia_operation_duration_seconds_count{{operation="{operation}"}}') >= 1
