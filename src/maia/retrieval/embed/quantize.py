"""The local model with int8 activations, derived once from the verified model file.

The packaged graph stores int8 weights but computes in float: its weights are turned
back into floats when a session loads it, and a query's matrix products then take two
thirds of its time. Quantizing the products' inputs as well (int8 weights per output
channel, activations to uint8 at run time: onnxruntime's ``quantize_dynamic``) makes an
embedding 2.3 times faster, at cosine 0.994 on average to the float graph's, and leaves
retrieval as it was (LoCoMo, docs/benchmarks.md). Stored embeddings of either graph
are the same space: no re-embedding is needed when switching.

The derived graph is written to a cache directory with its SHA-256 beside it, and
checked against it at every load; it is derived again when missing or different. The
derivation runs in a child process: the quantizer configures the root logger and
leaves scratch files behind when killed (in the scratch directory, swept later), and
neither should touch the server.

Run as a script (``python quantize.py MODEL OUT``), it derives ``OUT`` from ``MODEL``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import platformdirs

log = logging.getLogger(__name__)

# Part of the cached file's name: a change to the derivation must change it.
RECIPE = "dynamic-int8-r1"
SCRATCH = ".deriving-"
STALE_SCRATCH_SECONDS = 3600  # a derivation takes seconds: older scratch was abandoned
DERIVE_TIMEOUT_SECONDS = 600


class DerivationFailed(Exception):
    pass


def default_cache_dir() -> Path:
    return platformdirs.user_cache_path("maia", appauthor=False) / "models"


def sha256_of(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def int8_graph(
    model: Path, model_sha256: str, cache_dir: Path | None = None, *, fresh: bool = False
) -> Path | None:
    """The int8 graph of ``model`` (whose SHA-256 the caller verified), derived if not
    cached yet, or if ``fresh``; ``None`` if it cannot be derived (the caller keeps the
    float graph)."""
    directory = cache_dir or default_cache_dir()
    # Per onnxruntime release: a graph another release wrote may not load in this one.
    target = directory / f"{model_sha256[:16]}-{RECIPE}-onnxruntime-{_onnxruntime()}.onnx"
    recorded = target.with_name(target.name + ".sha256")
    if not fresh and _verified(target, recorded):
        return target
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _sweep(directory)
        with tempfile.TemporaryDirectory(dir=directory, prefix=SCRATCH) as scratch:
            derived = Path(scratch) / "int8.onnx"
            _derive_apart(model, derived)
            digest = sha256_of(derived)
            # The graph first, then its hash: a reader never trusts a half-written pair.
            os.replace(derived, target)
            written = Path(scratch) / "sha256"
            written.write_text(digest + "\n")
            os.replace(written, recorded)
    except (OSError, DerivationFailed) as exc:
        log.warning(
            "could not derive the local model's int8 graph in %s (%s); using the float "
            "graph (slower, same results)",
            directory,
            exc,
        )
        return None
    log.info("derived the local model's int8 graph: %s", target)
    return target


def _onnxruntime() -> str:
    try:
        return version("onnxruntime")
    except PackageNotFoundError:  # a build under another distribution name
        return "unknown"


def _verified(target: Path, recorded: Path) -> bool:
    """Whether ``target`` is there with the SHA-256 recorded beside it (anything else,
    unreadable included, means deriving it again)."""
    if not (target.is_file() and recorded.is_file()):
        return False
    try:
        if sha256_of(target).encode() == recorded.read_bytes().strip():
            return True
    except OSError:
        return False
    log.warning("the cached int8 graph %s does not match its SHA-256: deriving it", target)
    return False


def _sweep(directory: Path) -> None:
    """Removes the scratch of derivations that were killed (tens of MB each)."""
    now = time.time()
    for scratch in directory.glob(SCRATCH + "*"):
        try:
            if now - scratch.stat().st_mtime > STALE_SCRATCH_SECONDS:
                shutil.rmtree(scratch, ignore_errors=True)
        except OSError:
            continue


def _derive_apart(model: Path, out: Path) -> None:
    """Runs this file as a script in a child process to derive ``out``."""
    try:
        done = subprocess.run(
            # -P: not this file's directory first on the path (its http.py would
            # shadow the standard library's).
            [sys.executable, "-P", __file__, str(model), str(out)],
            capture_output=True,
            text=True,
            timeout=DERIVE_TIMEOUT_SECONDS,
            check=False,
            # The quantizer's own temporary files go in the scratch directory too, so a
            # killed derivation leaves them where the sweep finds them.
            env={**os.environ, "TMPDIR": str(out.parent)},
        )
    except subprocess.TimeoutExpired as exc:
        raise DerivationFailed(f"no graph after {DERIVE_TIMEOUT_SECONDS} s") from exc
    if done.returncode != 0 or not out.is_file():
        lines = (done.stderr or "").strip().splitlines()
        raise DerivationFailed(lines[-1] if lines else f"exit status {done.returncode}")


def derive(model: Path, out: Path) -> None:
    """Writes the int8 graph of ``model`` to ``out`` (in this process)."""
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Constant folding turns the stored int8 weights into the float weights the
    # quantizer starts from.
    folded = out.with_name("folded.onnx")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(folded)
    ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    quantize_dynamic(
        folded,
        out,
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul"],
    )
    folded.unlink()


if __name__ == "__main__":
    logging.disable(logging.INFO)  # the quantizer reports every node
    derive(Path(sys.argv[1]), Path(sys.argv[2]))
