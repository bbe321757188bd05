"""The local model's int8 graph: derived once from the verified model file, cached with
its SHA-256, derived again when the cache is damaged, and never a reason to fail."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from maia import Settings
from maia.retrieval.embed import minilm, quantize
from maia.retrieval.embed.factory import embedder_from

TEXTS = [
    "Alice prefers green tea in the morning.",
    "What does Alice like to drink?",
    "Bruno is training for a marathon in October.",
    "The quarterly report is due on Friday.",
    "日本語のテキスト",
    "x",
]


def _graph(cache: Path) -> Path:
    model, _ = minilm.model_files()
    graph = quantize.int8_graph(model, minilm.MODEL_SHA256, cache)
    assert graph is not None
    return graph


def test_the_graph_is_derived_once_then_reused(
    model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = _graph(model_cache)
    recorded = graph.with_name(graph.name + ".sha256")
    assert recorded.read_text().strip() == quantize.sha256_of(graph)
    assert graph.parent == model_cache
    assert quantize.RECIPE in graph.name

    def derive(model: Path, out: Path) -> None:
        raise AssertionError("derived again")

    monkeypatch.setattr(quantize, "_derive_apart", derive)
    assert _graph(model_cache) == graph
    assert version("onnxruntime") in graph.name, "one graph per onnxruntime release"


def test_a_damaged_cached_graph_is_derived_again(
    model_cache: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    original = _graph(model_cache)
    copy = tmp_path / original.name
    shutil.copy(original, copy)
    shutil.copy(original.with_name(original.name + ".sha256"), tmp_path)
    with copy.open("r+b") as handle:  # one flipped byte in the middle of the weights
        handle.seek(copy.stat().st_size // 2)
        byte = handle.read(1)
        handle.seek(-1, 1)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with caplog.at_level(logging.WARNING, logger="maia.retrieval.embed.quantize"):
        assert _graph(tmp_path) == copy
    assert "does not match its SHA-256" in caplog.text
    # The derivation is deterministic: the same bytes as the first time.
    assert quantize.sha256_of(copy) == quantize.sha256_of(original)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".deriving-")]


def _cached_copy(model_cache: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the session's cached graph and its SHA-256, in ``tmp_path``."""
    original = _graph(model_cache)
    copy = tmp_path / original.name
    recorded = tmp_path / (original.name + ".sha256")
    shutil.copy(original, copy)
    shutil.copy(original.with_name(original.name + ".sha256"), recorded)
    return copy, recorded


def test_a_cached_graph_that_does_not_load_is_derived_again(
    model_cache: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    copy, recorded = _cached_copy(model_cache, tmp_path)
    copy.write_bytes(b"not a graph")  # its hash matches: only loading it tells
    recorded.write_text(quantize.sha256_of(copy) + "\n")
    with caplog.at_level(logging.WARNING, logger="maia.retrieval.embed"):
        embedder = minilm.MiniLMEmbedder(cache_dir=tmp_path)
    assert embedder.quantized
    assert "does not load" in caplog.text
    assert quantize.sha256_of(copy) == quantize.sha256_of(_graph(model_cache))


def test_an_unreadable_record_is_derived_again(model_cache: Path, tmp_path: Path) -> None:
    copy, recorded = _cached_copy(model_cache, tmp_path)
    recorded.write_bytes(b"\xff\xfe not text")
    assert _graph(tmp_path) == copy
    assert recorded.read_text().strip() == quantize.sha256_of(copy)


def test_scratch_of_a_killed_derivation_is_swept(tmp_path: Path) -> None:
    old, recent = tmp_path / f"{quantize.SCRATCH}old", tmp_path / f"{quantize.SCRATCH}now"
    for scratch in (old, recent):
        scratch.mkdir()
        (scratch / "folded.onnx").write_bytes(b"x" * 1000)
    hours_ago = time.time() - 2 * quantize.STALE_SCRATCH_SECONDS
    os.utime(old, (hours_ago, hours_ago))
    quantize._sweep(tmp_path)
    assert not old.exists()
    assert recent.exists(), "perhaps another process is deriving right now"


def test_deriving_leaves_the_process_logging_alone(tmp_path: Path) -> None:
    """The quantizer logs through the root logger, which configures it when it has no
    handler (as in a server, whose logs go through ``maia``'s): not in this process."""
    root = logging.getLogger()
    saved = list(root.handlers)
    for handler in saved:
        root.removeHandler(handler)
    try:
        assert _graph(tmp_path).is_file()
        assert (root.handlers, root.filters) == ([], [])
    finally:
        for handler in saved:
            root.addHandler(handler)


def test_the_cache_setting_reads_like_a_path() -> None:
    assert Settings.load(model_cache_dir="").model_cache_dir is None
    assert Settings.load(model_cache_dir="~/models").model_cache_dir == Path.home() / "models"


def test_no_writable_cache_keeps_the_float_graph(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    with caplog.at_level(logging.WARNING, logger="maia.retrieval.embed.quantize"):
        embedder = minilm.MiniLMEmbedder(cache_dir=blocked / "models")
    assert embedder.quantized is False
    assert "using the float graph" in caplog.text
    vectors = embedder.embed(["still works"])
    assert vectors.shape == (1, minilm.DIM)


def test_both_graphs_embed_into_the_same_space(
    make_settings: Callable[..., Settings],
) -> None:
    fast = embedder_from(make_settings(embedding_provider="local"))
    exact = embedder_from(make_settings(embedding_provider="local", embedding_quantized=False))
    assert isinstance(fast, minilm.MiniLMEmbedder)
    assert fast.quantized
    assert isinstance(exact, minilm.MiniLMEmbedder)
    assert not exact.quantized
    a, b = fast.embed(TEXTS), exact.embed(TEXTS)
    assert not np.array_equal(a, b)
    # Each text is closest to itself across graphs: vectors stored by one graph are
    # found by queries embedded with the other.
    across = a @ b.T
    assert (np.diag(across) > 0.97).all()
    assert (across.argmax(axis=1) == np.arange(len(TEXTS))).all()
    assert fast.model_id == exact.model_id


def test_a_text_embeds_the_same_alone_and_in_a_batch(
    make_settings: Callable[..., Settings],
) -> None:
    fast = embedder_from(make_settings(embedding_provider="local"))
    batch = fast.embed(TEXTS)
    alone = np.vstack([fast.embed([t]) for t in TEXTS])
    assert np.array_equal(batch, alone)


def test_the_quantizers_temporary_files_go_in_the_scratch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A killed derivation leaves onnxruntime's own temporary files too: in the scratch
    directory, which the sweep removes, not in the system's."""
    seen: dict[str, str] = {}

    def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        seen.update(kwargs["env"])
        Path(command[-1]).write_bytes(b"graph")
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(quantize.subprocess, "run", run)
    model, _ = minilm.model_files()
    assert quantize.int8_graph(model, minilm.MODEL_SHA256, tmp_path) is not None
    assert Path(seen["TMPDIR"]).parent == tmp_path
    assert Path(seen["TMPDIR"]).name.startswith(quantize.SCRATCH)
