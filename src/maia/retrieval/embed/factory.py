"""Builds the configured embedder (one shared local model per process)."""

from __future__ import annotations

import threading
from pathlib import Path

from maia.retrieval.embed.base import Embedder
from maia.retrieval.embed.hashing import HashingEmbedder
from maia.settings import Settings

_local: dict[tuple[int, int, bool, Path | None], Embedder] = {}
_local_lock = threading.Lock()


def local_embedder(
    threads: int = 1, workers: int = 1, *, quantized: bool = True, cache_dir: Path | None = None
) -> Embedder:
    """The MiniLM model, loaded once per process and configuration (it is thread-safe)."""
    key = (threads, workers, quantized, cache_dir)
    with _local_lock:
        if key not in _local:
            from maia.retrieval.embed.minilm import MiniLMEmbedder

            _local[key] = MiniLMEmbedder(
                threads=threads, workers=workers, quantized=quantized, cache_dir=cache_dir
            )
        return _local[key]


def embedder_from(settings: Settings) -> Embedder:
    if settings.embedding_provider == "hashing":
        return HashingEmbedder()
    if settings.embedding_provider == "openai":
        from maia.retrieval.embed.http import OpenAICompatibleEmbedder

        key = settings.embedding_api_key
        return OpenAICompatibleEmbedder(
            base_url=settings.embedding_base_url,
            model=settings.embedding_model_name,
            dim=settings.embedding_dim,
            api_key=key.get_secret_value() if key else None,
        )
    return local_embedder(
        settings.embedding_threads,
        settings.embedding_workers,
        quantized=settings.embedding_quantized,
        cache_dir=settings.model_cache_dir,
    )
