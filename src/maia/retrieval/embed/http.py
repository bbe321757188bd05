"""Embeddings from any OpenAI-compatible ``/v1/embeddings`` endpoint (OpenAI, Ollama, vLLM)."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
import numpy as np

from maia.errors import Unavailable
from maia.retrieval.embed.base import Vectors, normalise


class OpenAICompatibleEmbedder:
    """Posts batches to ``{base_url}/embeddings``; ``base_url`` includes ``/v1``."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        dim: int,
        api_key: str | None = None,
        timeout: float = 30.0,
        batch_size: int = 64,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )
        self._model = model
        self._dim = dim
        self._batch_size = batch_size

    @property
    def model_id(self) -> str:
        return f"openai-compatible:{self._model}"

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def semantic(self) -> bool:
        return True

    def embed(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for start in range(0, len(texts), self._batch_size):
            batch = list(texts[start : start + self._batch_size])
            out[start : start + len(batch)] = self._request(batch)
        return normalise(out)

    def _request(self, batch: list[str]) -> Vectors:
        try:
            response = self._client.post("/embeddings", json={"model": self._model, "input": batch})
        except httpx.HTTPError as exc:
            raise Unavailable(f"embedding endpoint unreachable: {exc}") from exc
        if response.status_code != 200:
            raise Unavailable(
                f"embedding endpoint answered {response.status_code}: {response.text[:200]}"
            )
        try:
            items = sorted(response.json()["data"], key=lambda item: item["index"])
            vectors = np.array([item["embedding"] for item in items], dtype=np.float32)
        except (KeyError, TypeError, ValueError) as exc:
            raise Unavailable(f"embedding endpoint sent an unexpected body: {exc}") from exc
        if vectors.shape != (len(batch), self._dim):
            raise Unavailable(
                f"embedding endpoint returned shape {vectors.shape}, expected "
                f"({len(batch)}, {self._dim}); check embedding_dim"
            )
        return vectors

    def close(self) -> None:
        self._client.close()
