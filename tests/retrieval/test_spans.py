"""Retrieval spans are optional: MAIA imports, stores and searches without OpenTelemetry."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from maia.retrieval.spans import span


def test_a_span_is_a_plain_block_without_a_configured_provider() -> None:
    with span("maia.test", texts=1):
        value = 1
    assert value == 1


def test_maia_works_without_opentelemetry(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["opentelemetry"] = None  # as if opentelemetry-api were not installed
        from maia import Maia
        import maia.retrieval.spans as spans
        assert spans._tracer is None
        with Maia.open({str(tmp_path)!r}, embedding_provider="hashing") as m:
            m.remember("Alice prefers green tea", namespace="alice")
            hits = m.recall("what does Alice drink?", namespace="alice")
            assert [h.memory.content for h in hits] == ["Alice prefers green tea"]
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
