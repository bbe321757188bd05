"""``maia export``, ``import``, ``backup`` and ``restore`` in-process (Typer's runner),
on real data directories and a live server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from maia import Maia, Settings
from maia.cli import app
from maia.models import MemoryCreate, TenantCreate
from tests.conftest import LiveServer
from tests.transfer_data import comparable, populate


@pytest.fixture(autouse=True)
def _hashing_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAIA_EMBEDDING_PROVIDER", "hashing")


def run(*args: str, stdin: bytes | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=stdin)


def lines_of(data: bytes) -> list[str]:
    return [line + "\n" for line in data.decode().split("\n")[:-1]]


@pytest.fixture
def source(make_settings: Callable[..., Settings], tmp_path: Path) -> Path:
    """A data directory holding the populated records (closed again)."""
    with Maia.open(settings=make_settings(data_dir=tmp_path / "source")) as maia:
        populate(maia)
    return tmp_path / "source"


def local_export(make_settings: Callable[..., Settings], data_dir: Path) -> list[str]:
    with Maia.open(settings=make_settings(data_dir=data_dir)) as maia:
        return list(maia.export_lines())


def test_export_import_round_trip(
    source: Path, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    exported = run("export", "--data-dir", str(source))
    assert exported.exit_code == 0, exported.output
    assert "exported 4 namespaces, 8 memories and 4 relations" in exported.stderr
    lines = lines_of(exported.stdout_bytes)
    assert comparable(lines) == comparable(local_export(make_settings, source))

    file = tmp_path / "export.jsonl"
    assert run("export", "--data-dir", str(source), "-o", str(file)).exit_code == 0
    assert comparable(lines_of(file.read_bytes())) == comparable(lines)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []

    copy = tmp_path / "copy"
    dry = run("import", str(file), "--data-dir", str(copy), "--dry-run", "-j")
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)["memories"]["created"] == 8
    assert json.loads(dry.stdout)["dry_run"] is True
    done = run("import", str(file), "--data-dir", str(copy), "--on-conflict", "overwrite")
    assert done.exit_code == 0, done.output
    assert "memories" in done.stdout
    assert "embedded 8 memories with hashing-384-v1" in done.stdout
    assert comparable(local_export(make_settings, copy)) == comparable(lines)

    again = run("import", "-", "--data-dir", str(copy), "--json", stdin=file.read_bytes())
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["memories"]["unchanged"] == 8


def test_import_into_another_tenant_with_new_ids(source: Path, tmp_path: Path) -> None:
    file = tmp_path / "export.jsonl"
    assert run("export", "--data-dir", str(source), "-o", str(file)).exit_code == 0
    with Maia.open(source) as maia:
        acme = maia.create_tenant(TenantCreate(name="acme")).id
    args = ("import", str(file), "--data-dir", str(source), "--tenant", acme, "-j")
    refused = run(*args)
    assert refused.exit_code == 1  # the ids belong to the source tenant
    assert json.loads(refused.stdout)["memories"]["failed"] == 8
    copied = run(*args, "--new-ids")
    assert copied.exit_code == 0, copied.output
    summary = json.loads(copied.stdout)
    assert summary["new_ids"] is True
    assert (summary["memories"]["created"], summary["relations"]["created"]) == (8, 4)


def test_export_options(source: Path) -> None:
    result = run(
        "export",
        "--data-dir",
        str(source),
        "-n",
        "acme",
        "--include-descendants",
        "--created-after",
        "2026-01-05T09:31:00Z",
        "--created-before",
        "2026-01-06",
        "--with-embeddings",
    )
    assert result.exit_code == 0, result.output
    memories = [json.loads(line) for line in lines_of(result.stdout_bytes)]
    memories = [r for r in memories if r["kind"] == "memory"]
    assert len(memories) == 4
    assert all(r["namespace"] == "acme/team" and "embedding" in r for r in memories)

    bad = run("export", "--data-dir", str(source), "--created-after", "someday")
    assert bad.exit_code == 2
    assert "invalid created_after" in bad.stderr
    both = run("export", "--data-dir", str(source), "--server", "http://127.0.0.1:1")
    assert both.exit_code == 2
    assert "--server excludes" in both.stderr


def test_export_to_a_path_that_cannot_be_written(source: Path, tmp_path: Path) -> None:
    for path, message in (
        (tmp_path / "no" / "such" / "out.jsonl", "invalid --output: no directory"),
        (tmp_path, "is a directory"),
    ):
        result = run("export", "--data-dir", str(source), "-o", str(path))
        assert result.exit_code == 2, result.output
        assert message in result.stderr
        assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["source"]


def test_an_unknown_tenant_is_refused(source: Path, tmp_path: Path) -> None:
    """Records imported for a tenant that does not exist would be reachable by no key."""
    exported = run("export", "--data-dir", str(source))
    assert exported.exit_code == 0, exported.output
    dump = tmp_path / "dump.jsonl"
    dump.write_bytes(exported.stdout_bytes)
    for args in (
        ("import", str(dump), "--data-dir", str(tmp_path / "target"), "--tenant", "tpyo"),
        ("export", "--data-dir", str(source), "--tenant", "tpyo"),
    ):
        result = run(*args)
        assert result.exit_code == 2, result.output
        assert "invalid --tenant: no tenant tpyo" in result.stderr
        assert not result.stdout
    with Maia.open(tmp_path / "target") as maia:
        assert maia.stats().total_memories == 0


def test_export_into_a_closed_pipe_stops_quietly(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    with Maia.open(settings=make_settings(data_dir=tmp_path / "big")) as maia:
        maia.create_memories(
            [MemoryCreate(namespace="big", content=f"memory number {i}") for i in range(300)]
        )
    command = [sys.executable, "-m", "maia", "export", "--data-dir", str(tmp_path / "big")]
    with subprocess.Popen(
        [*command, "--with-embeddings"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "MAIA_EMBEDDING_PROVIDER": "hashing"},
    ) as export:
        assert export.stdout is not None
        assert export.stderr is not None
        assert export.stdout.read(100)  # the reader takes a little, then goes (``| head``)
        export.stdout.close()
        errors = export.stderr.read().decode()
        assert export.wait(timeout=60) == 1
    assert "Traceback" not in errors
    assert "Exception ignored" not in errors


def test_export_from_a_server_equals_the_local_export(
    serve: Callable[..., LiveServer], tmp_path: Path
) -> None:
    server = serve()
    populate(server.maia)
    file = tmp_path / "remote.jsonl"
    result = run("export", "--server", server.url, "-o", str(file), "--with-embeddings")
    assert result.exit_code == 0, result.output
    from maia.models.transfer import ExportFilter

    local = list(server.maia.export_lines(ExportFilter(with_embeddings=True)))
    assert comparable(lines_of(file.read_bytes())) == comparable(local)

    bad = run("export", "--server", server.url, "-n", "acme", "--created-after", "2026-13-01")
    assert bad.exit_code == 2


def test_export_from_a_server_reports_errors(
    serve: Callable[..., LiveServer], tmp_path: Path
) -> None:
    server = serve(api_key="secret")
    file = tmp_path / "out.jsonl"
    result = run("export", "--server", server.url, "-o", str(file))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: failed to export: unauthorized")
    assert not file.exists()
    ok = run("export", "--server", server.url, "--api-key", "secret")
    assert ok.exit_code == 0, ok.output
    gone = run("export", "--server", "http://127.0.0.1:9", "-o", str(file))
    assert gone.exit_code == 1
    assert "failed to export" in gone.stderr
    assert not file.exists()


def test_import_of_a_malformed_file_names_the_line(source: Path, tmp_path: Path) -> None:
    file = tmp_path / "bad.jsonl"
    lines = lines_of(run("export", "--data-dir", str(source)).stdout_bytes)
    memory = json.loads(lines[5]) | {"type": "dream"}
    file.write_text("".join([*lines[:5], json.dumps(memory) + "\n", *lines[6:]]))
    result = run("import", str(file), "--data-dir", str(tmp_path / "copy"))
    assert result.exit_code == 2
    assert "line 6: memory.type: Input should be 'semantic'" in result.stderr
    assert "nothing was imported" in result.stderr
    missing = run("import", str(tmp_path / "nope.jsonl"), "--data-dir", str(tmp_path / "copy"))
    assert missing.exit_code == 2
    assert "file not found" in missing.stderr


def test_import_reports_failed_records(source: Path, tmp_path: Path) -> None:
    file = tmp_path / "export.jsonl"
    assert run("export", "--data-dir", str(source), "-o", str(file)).exit_code == 0
    with Maia.open(source) as maia:
        other = maia.create_tenant(TenantCreate(name="someone-else")).id
    result = run("import", str(file), "--data-dir", str(source), "--tenant", other)
    assert result.exit_code == 1
    assert "belongs to another tenant" in result.stderr


def test_backup_and_restore(
    source: Path, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    dest = tmp_path / "maia-backup.db"
    result = run("backup", str(dest), "--data-dir", str(source))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"backed up {source / 'maia.db'} to {dest}")
    assert run("backup", str(dest), "--data-dir", str(source)).exit_code == 2
    assert run("backup", str(dest), "--data-dir", str(source), "--force").exit_code == 0
    missing = run("backup", str(dest), "--data-dir", str(tmp_path / "empty"), "--force")
    assert missing.exit_code == 2
    assert "no database" in missing.stderr

    restored = tmp_path / "restored"
    result = run("restore", str(dest), "--data-dir", str(restored))
    assert result.exit_code == 0, result.output
    again = run("restore", str(dest), "--data-dir", str(restored))
    assert again.exit_code == 2
    assert "not empty" in again.stderr
    assert run("restore", str(dest), "--data-dir", str(restored), "--force").exit_code == 0
    with Maia.open(settings=make_settings(data_dir=restored)) as maia:
        assert maia.count_memories() == 8
        assert maia.recall("Lisbon", namespace="other")[0].memory.content == "Bob lives in Lisbon"
    assert comparable(local_export(make_settings, restored)) == comparable(
        local_export(make_settings, source)
    )
