"""The audit log file: JSON lines, redaction, rotation, queries newest first."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from maia.models import utcnow
from maia.security.audit import AuditLog, AuditQuery, redact


def test_events_are_json_lines(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.log")
    log.record("memory.create", tenant_id="t", actor="k", target="m1", namespace="n")
    log.record("key.revoke", tenant_id="system", actor="root", target="abc")
    log.close()
    lines = (tmp_path / "audit.log").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["action"] for e in events] == ["memory.create", "key.revoke"]
    assert events[0]["details"] == {"namespace": "n"}
    assert events[0]["time"].endswith("Z")
    assert events[0]["outcome"] == "success"


def test_secrets_and_content_are_redacted() -> None:
    clean = redact({"content": "secret text", "nested": {"api_key": "maia_x"}, "count": 2})
    assert clean == {"content": "[redacted]", "nested": {"api_key": "[redacted]"}, "count": 2}


def test_rotation_keeps_backups_and_queries_span_them(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.log", max_bytes=1024, backups=2)
    for i in range(60):
        log.record("memory.delete", tenant_id="t", actor="k", target=f"m{i}")
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["audit.log", "audit.log.1", "audit.log.2"]
    newest = log.query(AuditQuery(limit=3))
    assert [e["target"] for e in newest] == ["m59", "m58", "m57"]
    kept = log.query(AuditQuery(limit=1000))
    assert 10 < len(kept) < 60, "old files beyond the backups are dropped"
    log.close()


def test_query_filters(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.log")
    log.record("memory.create", tenant_id="a", actor="k1")
    log.record("memory.update", tenant_id="b", actor="k2")
    log.record("tenant.create", tenant_id="system", actor="root")
    assert [e["action"] for e in log.query(AuditQuery(action="memory."))] == [
        "memory.update",
        "memory.create",
    ]
    assert [e["tenant_id"] for e in log.query(AuditQuery(tenant_id="a"))] == ["a"]
    assert [e["actor"] for e in log.query(AuditQuery(actor="root"))] == ["root"]
    assert log.query(AuditQuery(since=utcnow() + timedelta(minutes=1))) == []
    assert len(log.query(AuditQuery(until=utcnow() + timedelta(minutes=1)))) == 3
    log.close()


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog(path)
    log.record("memory.create", tenant_id="t", actor="k")
    with path.open("a") as handle:
        handle.write('{"action": "memory.del')
    assert [e["action"] for e in log.query(AuditQuery())] == ["memory.create"]
    log.close()
