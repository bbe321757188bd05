"""The local model with int8 activations, derived once from the verified model file.

The packaged graph stores int8 weights but computes in float: its weights are turned
back into floats when a session loads it, and a query's matrix products then take two
thirds of its time. Quantizing the products' inputs as well (int8 weights per output
channel, activations to uint8 at run time: onnxruntime's ``quantize_dynamic``) makes an
embedding 2.5 times faster, at cosine 0.994 on average to the float graph's, and leaves
retrieval as it was (LoCoMo, docs/benchmarks.md). Stored embeddings of either graph
are the same space: no re-embedding is needed when switching.

The derived graph is written to a cache directory with its SHA-256 beside it, and
checked against it at every load; it is derived again when missing or different.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

import platformdirs

log = logging.getLogger(__name__)

# Part of the cached file's name: a change to the derivation must change it.
RECIPE = "dynamic-int8-r1"


def default_cache_dir() -> Path:
    return platformdirs.user_cache_path("maia", appauthor=False) / "models"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def int8_graph(model: Path, model_sha256: str, cache_dir: Path | None = None) -> Path | None:
    """The int8 graph of ``model`` (whose SHA-256 the caller verified), derived if not
    cached yet; ``None`` if it cannot be derived (the caller keeps the float graph)."""
    directory = cache_dir or default_cache_dir()
    target = directory / f"{model_sha256[:16]}-{RECIPE}.onnx"
    recorded = target.with_name(target.name + ".sha256")
    try:
        if target.is_file() and recorded.is_file():
            if sha256_of(target) == recorded.read_text().strip():
                return target
            log.warning("the cached int8 graph %s does not match its SHA-256: deriving it", target)
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=directory, prefix=".deriving-") as scratch:
            derived = _derive(model, Path(scratch))
            digest = sha256_of(derived)
            # The graph first, then its hash: a reader never trusts a half-written pair.
            os.replace(derived, target)
            written = Path(scratch) / "sha256"
            written.write_text(digest + "\n")
            os.replace(written, recorded)
    except Exception as exc:  # any failure leaves the float graph in use, never a crash
        log.warning(
            "could not derive the local model's int8 graph in %s (%s); using the float "
            "graph (slower, same results)",
            directory,
            exc,
        )
        return None
    log.info("derived the local model's int8 graph: %s", target)
    return target


def _derive(model: Path, scratch: Path) -> Path:
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Constant folding turns the stored int8 weights into the float weights the
    # quantizer starts from.
    folded = scratch / "folded.onnx"
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(folded)
    ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    derived = scratch / "int8.onnx"
    quiet = _Quiet()
    logging.getLogger().addFilter(quiet)  # the quantizer reports each node on the root logger
    try:
        quantize_dynamic(
            folded,
            derived,
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
        )
    finally:
        logging.getLogger().removeFilter(quiet)
    return derived


class _Quiet(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.name != "root"
