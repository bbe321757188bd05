"""Online backup and restore of the SQLite database, on real files, under writes."""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from maia import Conflict, InvalidInput, Maia, Settings, Unavailable
from maia.store.sqlite import SQLiteStore
from maia.store.sqlite import backup as backup_module
from maia.store.sqlite.backup import backup_database, check_database, restore_database
from maia.store.sqlite.schema import SCHEMA_VERSION
from tests.transfer_data import populate


def count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM memories").fetchone()[0])


def test_backup_while_another_thread_writes(
    maia: Maia, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    populate(maia)
    stop = threading.Event()
    written = threading.Semaphore(0)
    failures: list[BaseException] = []

    def keep_writing() -> None:
        i = 0
        try:
            while not stop.is_set():
                maia.remember(f"busy note {i} about the quarterly report", namespace="busy")
                written.release()
                i += 1
        except BaseException as exc:  # reported by the test, not lost in the thread
            failures.append(exc)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        for _ in range(20):  # the writer is well under way
            assert written.acquire(timeout=10)
        before = maia.count_memories()
        maia.backup(tmp_path / "backup.db")
        after = maia.count_memories()
        for _ in range(20):  # and it went on after the backup
            assert written.acquire(timeout=10)
    finally:
        stop.set()
        writer.join(timeout=30)
    assert not failures
    backup = tmp_path / "backup.db"
    assert before <= count(backup) <= after
    with sqlite3.connect(backup) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("backup")) == [
        "backup.db"
    ]

    restored = Maia.restore(backup, tmp_path / "restored")
    assert restored == tmp_path / "restored" / "maia.db"
    with Maia.open(settings=make_settings(data_dir=tmp_path / "restored")) as copy:
        assert copy.count_memories() == count(backup)
        hits = copy.recall("quarterly report", namespace="busy", limit=3)
        assert hits
        assert all(h.memory.namespace == "busy" for h in hits)
        assert copy.recall("green tea", namespace="acme")  # the populated records too
        assert len(copy.engine.index) == copy.count_memories()


def test_backup_refuses_to_overwrite_unless_asked(maia: Maia, tmp_path: Path) -> None:
    dest = tmp_path / "b.db"
    dest.write_text("precious")
    with pytest.raises(InvalidInput, match="exists"):
        maia.backup(dest)
    assert dest.read_text() == "precious"
    backup_database(Path(maia.store.location), dest, overwrite=True)
    assert check_database(dest) == SCHEMA_VERSION
    with pytest.raises(InvalidInput, match="is a directory"):
        maia.backup(tmp_path)
    with pytest.raises(InvalidInput, match="no database"):
        backup_database(tmp_path / "nothing.db", tmp_path / "c.db")


def test_backup_of_a_closed_store_is_refused(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "maia.db")
    store.close()
    with pytest.raises(Unavailable):
        store.backup(tmp_path / "b.db")


def backed_up(maia: Maia, tmp_path: Path) -> tuple[dict[str, str], Path, Path]:
    """``maia`` populated and backed up: the ids, the backup, a data dir to restore to."""
    ids = populate(maia)
    maia.backup(tmp_path / "b.db")
    return ids, tmp_path / "b.db", tmp_path / "target"


def test_restore_refuses_a_non_empty_data_dir_unless_forced(
    maia: Maia, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    ids, backup, target = backed_up(maia, tmp_path)
    with Maia.open(settings=make_settings(data_dir=target)) as other:
        other.remember("something else entirely")
    (target / "maia.db-wal").write_bytes(b"stale")  # must never be applied to the copy
    with pytest.raises(InvalidInput, match="not empty"):
        restore_database(backup, target)
    restore_database(backup, target, force=True)
    assert not (target / "maia.db-wal").exists()
    assert not (target / "vectors.usearch").exists()
    with Maia.open(settings=make_settings(data_dir=target)) as copy:
        assert copy.get_memory(ids["tea"]).content == "Alice prefers green tea"
        assert copy.count_memories() == 8


def test_a_restore_stopped_before_the_swap_loses_nothing_of_the_old_database(
    maia: Maia,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The old database's WAL (a server killed with writes in it) is folded into it
    before it is deleted: a restore that fails before the swap leaves it whole."""
    _, backup, target = backed_up(maia, tmp_path)
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    with Maia.open(settings=make_settings(data_dir=target)) as other:
        other.remember("written just before the crash")
        for name in ("maia.db", "maia.db-wal"):  # the files as a kill -9 leaves them
            shutil.copy2(target / name, crashed / name)
    alone = tmp_path / "alone.db"
    shutil.copy2(crashed / "maia.db", alone)
    written = count(crashed / "maia.db")
    with sqlite3.connect(alone) as conn:  # without its WAL, the file holds less
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert "memories" not in tables or count(alone) < written

    replace = os.replace

    def fail_the_swap(source: Path, destination: Path) -> None:
        if Path(destination) == crashed / "maia.db":
            raise OSError("no space left on device")
        replace(source, destination)

    monkeypatch.setattr(backup_module.os, "replace", fail_the_swap)
    with pytest.raises(OSError, match="no space"):
        restore_database(backup, crashed, force=True)
    assert count(crashed / "maia.db") == written


def test_restore_refuses_a_database_that_is_open(
    maia: Maia, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """Whatever an open store wrote next would land in the replaced file: lost."""
    ids, backup, target = backed_up(maia, tmp_path)
    with Maia.open(settings=make_settings(data_dir=target)) as other:
        other.remember("written while open")
        with pytest.raises(Conflict, match="is open"):
            restore_database(backup, target, force=True)
        reader = SQLiteStore(target / "maia.db")  # a second store on it: also refused
        other.close()
        with pytest.raises(Conflict, match="is open"):
            Maia.restore(backup, target, force=True)
        reader.close()
    restore_database(backup, target, force=True)  # all closed now
    with Maia.open(settings=make_settings(data_dir=target)) as copy:
        assert copy.get_memory(ids["tea"]).content == "Alice prefers green tea"


def test_restore_checks_the_source(maia: Maia, tmp_path: Path) -> None:
    maia.remember("x")
    good = tmp_path / "good.db"
    maia.backup(good)

    corrupt = tmp_path / "corrupt.db"
    data = bytearray(good.read_bytes())
    page = 4096
    data[2 * page : 3 * page] = b"\xff" * page  # a b-tree page turned to garbage
    corrupt.write_bytes(bytes(data))
    with pytest.raises(InvalidInput, match="invalid source"):
        restore_database(corrupt, tmp_path / "a")

    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("hello " * 1000)
    with pytest.raises(InvalidInput, match="not a readable SQLite database"):
        restore_database(not_sqlite, tmp_path / "b")

    other_db = tmp_path / "other.db"
    with sqlite3.connect(other_db) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(InvalidInput, match="not a MAIA database"):
        restore_database(other_db, tmp_path / "c")

    newer = tmp_path / "newer.db"
    newer.write_bytes(good.read_bytes())
    with sqlite3.connect(newer) as conn:
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION + 1,))
    with pytest.raises(InvalidInput, match="newer than this MAIA"):
        restore_database(newer, tmp_path / "d")

    with pytest.raises(InvalidInput, match="not a file"):
        restore_database(tmp_path / "missing.db", tmp_path / "e")
    assert not any((tmp_path / name).exists() for name in "abcde")
