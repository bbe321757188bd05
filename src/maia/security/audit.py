"""The audit log: one JSON object per line, rotated by size, secrets and content never in it.

Events name who did what to which record; memory content, API keys and request
bodies are never written (only ids, namespaces, sizes and counts).
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from maia.models import as_utc, utcnow

# Every action the log records; tests and docs/security.md list them from here.
ACTIONS = (
    "auth.failure",
    "key.create",
    "key.revoke",
    "tenant.create",
    "tenant.update",
    "tenant.suspend",
    "tenant.activate",
    "tenant.delete",
    "memory.create",
    "memory.update",
    "memory.delete",
    "memory.bulk_delete",
    "namespace.create",
    "namespace.update",
    "namespace.delete",
    "config.change",
    "data.export",
    "data.import",
    "data.backup",
)
_REDACTED_KEYS = frozenset({"content", "key", "api_key", "secret", "password", "authorization"})


def redact(details: dict[str, Any]) -> dict[str, Any]:
    """Drops values that may hold secrets or memory content, at any depth."""
    clean: dict[str, Any] = {}
    for name, value in details.items():
        if name.lower() in _REDACTED_KEYS:
            clean[name] = "[redacted]"
        elif isinstance(value, dict):
            clean[name] = redact(value)
        else:
            clean[name] = value
    return clean


@dataclass(frozen=True, slots=True)
class AuditQuery:
    action: str | None = None
    tenant_id: str | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100


class AuditLog:
    """Appends events to ``path`` (rotated at ``max_bytes``, ``backups`` old files kept)."""

    def __init__(self, path: Path, *, max_bytes: int = 10 * 1024 * 1024, backups: int = 5) -> None:
        self.path = path
        self.backups = backups
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
        self._handler.setFormatter(logging.Formatter("%(message)s"))
        # A private logger: audit lines never reach the application log, and vice versa.
        self._logger = logging.Logger(f"maia.audit.{id(self)}")
        self._logger.addHandler(self._handler)
        self._logger.propagate = False
        self._lock = threading.Lock()

    def record(
        self,
        action: str,
        *,
        tenant_id: str,
        actor: str,
        target: str | None = None,
        outcome: str = "success",
        **details: Any,
    ) -> None:
        event: dict[str, Any] = {
            "time": utcnow().isoformat().replace("+00:00", "Z"),
            "action": action,
            "tenant_id": tenant_id,
            "actor": actor,
            "outcome": outcome,
        }
        if target is not None:
            event["target"] = target
        if details:
            event["details"] = redact(details)
        line = json.dumps(event, ensure_ascii=False, separators=(",", ":"), default=str)
        with self._lock:
            self._logger.info(line)

    def query(self, query: AuditQuery) -> list[dict[str, Any]]:
        """Matching events, newest first."""
        found: list[dict[str, Any]] = []
        for event in self._newest_first():
            if _matches(event, query):
                found.append(event)
                if len(found) >= query.limit:
                    break
        return found

    def _newest_first(self) -> Iterator[dict[str, Any]]:
        with self._lock:
            self._handler.flush()
            files = [self.path] + [Path(f"{self.path}.{i}") for i in range(1, self.backups + 1)]
            chunks = [f.read_text(encoding="utf-8") for f in files if f.exists()]
        for text in chunks:
            for line in reversed(text.splitlines()):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except ValueError:  # a line cut by a crash: skip it
                        continue

    def close(self) -> None:
        self._handler.close()


def _matches(event: dict[str, Any], query: AuditQuery) -> bool:
    action = str(event.get("action"))
    # "memory." selects every memory action; anything else must match exactly.
    if query.action and not (
        action == query.action or (query.action.endswith(".") and action.startswith(query.action))
    ):
        return False
    if query.tenant_id and event.get("tenant_id") != query.tenant_id:
        return False
    if query.actor and event.get("actor") != query.actor:
        return False
    if query.since or query.until:
        at = as_utc(datetime.fromisoformat(str(event.get("time", "")).replace("Z", "+00:00")))
        if query.since and at < query.since:
            return False
        if query.until and at > query.until:
            return False
    return True
