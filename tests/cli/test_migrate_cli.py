"""``maia migrate SOURCE TARGET`` in-process (Typer's runner): a data directory to
PostgreSQL and back, verified; a rerun copies nothing; ``--verify-only`` catches a
diverged pair; a location that is neither a directory nor a postgresql:// URL is
refused."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from maia import Maia, Settings
from maia.cli import app
from maia.service.stores import open_location
from maia.store.migrate import Tally, tally
from tests.transfer_data import populate


def migrate(*args: str) -> Result:
    return CliRunner().invoke(app, ["migrate", *args])


def copied(result: Result) -> dict[str, int]:
    """The ``copied: 3 tenants, 0 api_keys, …`` line (rich may wrap it) as numbers."""
    text = " ".join(result.stderr.split())
    line = re.search(r"copied: ((?:\d+ \w+(?:, )?)+)", text)
    assert line is not None, result.stderr
    return {name: int(n) for n, name in re.findall(r"(\d+) (\w+)", line.group(1))}


def tally_of(location: str | Path, settings: Settings) -> Tally:
    store = open_location(str(location), settings)
    try:
        return tally(store)
    finally:
        store.close()


@pytest.fixture
def source(make_settings: Callable[..., Settings], tmp_path: Path) -> Path:
    """A data directory with namespaces, memories (with embeddings) and relations."""
    with Maia.open(tmp_path / "source", settings=make_settings()) as maia:
        populate(maia)
    return tmp_path / "source"


@pytest.mark.postgres
def test_a_data_dir_to_postgres_and_back(
    source: Path, postgres_url: str, settings: Settings, tmp_path: Path
) -> None:
    there = migrate(str(source), postgres_url)
    assert there.exit_code == 0, there.output
    assert "verified" in there.stdout
    first = copied(there)
    assert first["memories"] == 8
    assert first["relations"] == 4
    assert first["namespaces"] >= 4  # populate's and the default one

    back_dir = tmp_path / "back"
    back = migrate(postgres_url, str(back_dir))
    assert back.exit_code == 0, back.output
    assert "verified" in back.stdout
    start = tally_of(source, settings)
    assert start.memories == {"system": 8}
    assert tally_of(postgres_url, settings) == start
    assert tally_of(back_dir, settings) == start


@pytest.mark.postgres
def test_a_rerun_copies_nothing(source: Path, postgres_url: str) -> None:
    assert migrate(str(source), postgres_url).exit_code == 0
    again = migrate(str(source), postgres_url)
    assert again.exit_code == 0, again.output
    assert "verified" in again.stdout
    counts = copied(again)
    assert counts.pop("skipped") > 0
    assert counts == dict.fromkeys(counts, 0)


@pytest.mark.postgres
def test_verify_only_fails_on_a_diverged_pair(
    source: Path, postgres_url: str, make_settings: Callable[..., Settings]
) -> None:
    assert migrate(str(source), postgres_url).exit_code == 0
    assert migrate(str(source), postgres_url, "--verify-only").exit_code == 0
    with Maia.open(source, settings=make_settings()) as maia:
        maia.remember("written after the copy", namespace="acme")
    result = migrate(str(source), postgres_url, "--verify-only")
    assert result.exit_code == 1
    assert "verification failed" in " ".join(result.stderr.split())
    assert "copied" not in result.stderr  # --verify-only copies nothing


def test_an_unsupported_url_scheme_is_refused(tmp_path: Path) -> None:
    result = migrate("mysql://x", str(tmp_path / "target"))
    assert result.exit_code == 2
    assert "postgresql://" in " ".join(result.stderr.split())
    assert not (tmp_path / "target").exists()


@pytest.mark.postgres
def test_local_commands_act_on_the_database_named_in_the_environment(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    # Bootstrapping keys of a PostgreSQL deployment: `maia admin` with MAIA_DATABASE_URL.
    monkeypatch.setenv("MAIA_DATABASE_URL", postgres_url)
    monkeypatch.setenv("MAIA_EMBEDDING_PROVIDER", "hashing")
    result = CliRunner().invoke(app, ["admin", "key", "create", "--name", "ops", "--scopes", "*"])
    assert result.exit_code == 0, result.output
    store = open_location(postgres_url, settings)
    try:
        with store.read() as tx:
            keys = tx.list_api_keys("system")
    finally:
        store.close()
    assert [k.name for k in keys] == ["ops"]
