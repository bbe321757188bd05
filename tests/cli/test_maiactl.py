"""The original CLI's ways (CONTRACT 10): the ``maiactl`` console script, exit status 1
for every error, global options before the command, ``--confidence -1`` as unset."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from maia import __version__
from tests.conftest import LiveServer

BIN = Path(sys.executable).parent
MISSING = "00000000-0000-4000-8000-000000000000"


def run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a user runs it."""
    return subprocess.run(
        [str(BIN / script), *args], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture(scope="module")
def url(shared_server: LiveServer) -> str:
    return shared_server.url


def test_maiactl_names_itself_and_prints_commit_and_build_lines() -> None:
    result = run("maiactl", "version")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"maiactl {__version__}"
    assert [line.split(":")[0] for line in lines[1:]] == ["commit", "built"]
    assert run("maia", "version").stdout.splitlines()[0] == f"maia {__version__}"


def test_maiactl_exits_1_for_every_error_maia_tells_them_apart(url: str) -> None:
    for script, status in (("maiactl", 1), ("maia", 3)):
        result = run(script, "-s", url, "memory", "get", MISSING)
        assert result.returncode == status
        assert result.stderr == (
            f"Error: failed to get memory: memory not found: {MISSING} (NOT_FOUND)\n"
        )
    for script, status in (("maiactl", 1), ("maia", 2)):
        result = run(script, "memory", "update", MISSING, "-s", url)
        assert result.returncode == status
        assert result.stderr.startswith("Error: no updates specified")


def test_maiactl_exits_1_for_usage_errors_too() -> None:
    for args in (
        ["memory", "create"],
        ["memory", "create", "-c", "x", "--confidence", "abc"],
        ["bogus"],
    ):
        for script, status in (("maiactl", 1), ("maia", 2)):
            result = run(script, *args)
            assert result.returncode == status, (script, args, result.stderr)
            assert "Error" in result.stderr
    assert run("maiactl", "--help").returncode == 0


def test_global_options_go_before_the_command(url: str, ns: str) -> None:
    created = run("maia", "-s", url, "--json", "memory", "create", "-n", ns, "-c", "Kiwis are tart")
    assert created.returncode == 0, created.stderr
    memory = json.loads(created.stdout)
    listed = run("maiactl", "memory", "-j", "-s", url, "list", "-n", ns)
    assert listed.returncode == 0, listed.stderr
    assert [m["id"] for m in json.loads(listed.stdout)["data"]] == [memory["id"]]


def test_confidence_minus_one_leaves_it_unchanged(url: str, ns: str) -> None:
    created = run(
        "maia", "memory", "create", "-n", ns, "-c", "old", "--confidence", "0.4", "-s", url, "-j"
    )
    memory = json.loads(created.stdout)
    updated = run(
        "maiactl",
        "-s",
        url,
        "-j",
        "memory",
        "update",
        memory["id"],
        "-c",
        "new",
        "--confidence",
        "-1",
    )
    assert updated.returncode == 0, updated.stderr
    after = json.loads(updated.stdout)
    assert (after["content"], after["confidence"]) == ("new", 0.4)


def test_maiactl_tables_shorten_ids_maia_prints_them_whole(url: str, ns: str) -> None:
    created = run("maia", "memory", "create", "-n", ns, "-c", "Plums", "-s", url, "-j")
    memory_id = json.loads(created.stdout)["id"]
    for script, shown in (("maiactl", memory_id[:8] + "..."), ("maia", memory_id)):
        listed = run(script, "memory", "list", "-n", ns, "-s", url)
        header, rule, row = listed.stdout.splitlines()
        assert header.split()[:2] == ["ID", "TYPE"]
        assert set(rule.strip()) == {"-"}
        assert row.split()[0] == shown
