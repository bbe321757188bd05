"""`maia serve` as a real process: start-up, refusal rules, and crash safety (kill -9)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_refused(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``maia serve`` run to its end: for options it refuses before serving."""
    return subprocess.run(
        [sys.executable, "-m", "maia", "serve", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


@contextmanager
def maia_process(
    data_dir: Path, *args: str, scheme: str = "http"
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    env = {**os.environ, "MAIA_RATE_LIMIT_RPS": "0", "MAIA_LOG_LEVEL": "warning"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "maia",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            *args,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"{scheme}://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"maia serve exited: {proc.stderr.read().decode() if proc.stderr else ''}"
                )
            try:
                if httpx.get(f"{url}/health", timeout=1, verify=False).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("maia serve did not become healthy")
            time.sleep(0.05)
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stderr:
            proc.stderr.close()


def test_serve_answers_and_shuts_down_cleanly(tmp_path: Path) -> None:
    with maia_process(tmp_path / "data") as (proc, url):
        created = httpx.post(f"{url}/v1/memories", json={"namespace": "n", "content": "hello"})
        assert created.status_code == 201
        proc.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught.
        assert proc.wait(timeout=15) in (0, -signal.SIGTERM)
        assert proc.stderr is not None
        assert "Traceback" not in proc.stderr.read().decode()
    with maia_process(tmp_path / "data") as (_, url):
        memory = httpx.get(f"{url}/v1/memories/{created.json()['id']}")
        assert memory.json()["content"] == "hello"


def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(url: str, worker: int) -> None:
        with httpx.Client(base_url=url, timeout=5) as client:
            i = 0
            while not stop.is_set():
                try:
                    response = client.post(
                        "/v1/memories",
                        json={"namespace": f"crash{worker}", "content": f"w{worker} n{i}"},
                    )
                except httpx.TransportError:
                    return  # the server is gone; what was acknowledged is in the list
                if response.status_code == 201:
                    with lock:
                        acknowledged.append(response.json()["id"])
                i += 1

    with maia_process(data_dir) as (proc, url):
        threads = [threading.Thread(target=writer, args=(url, w)) for w in range(4)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        while len(acknowledged) < 200 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)  # mid-stream: writers are still sending
        proc.wait(timeout=10)
        stop.set()
        for t in threads:
            t.join(timeout=10)
    assert len(acknowledged) >= 200

    with maia_process(data_dir) as (_, url), httpx.Client(base_url=url) as client:
        missing = [
            memory_id
            for memory_id in acknowledged
            if client.get(f"/v1/memories/{memory_id}").status_code != 200
        ]
        assert missing == []
        assert client.get("/v1/stats").json()["total_memories"] >= len(acknowledged)


def test_refuses_public_address_without_key(tmp_path: Path) -> None:
    result = serve_refused(tmp_path, "--host", "0.0.0.0")
    assert result.returncode == 2
    assert "without authentication" in result.stderr
    assert "maia admin key create" in " ".join(result.stderr.split())


def test_an_address_in_use_is_a_bad_option(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = serve_refused(tmp_path, "--port", str(port), MAIA_EMBEDDING_PROVIDER="hashing")
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_auth_flag_requires_a_key_even_on_loopback(tmp_path: Path) -> None:
    with maia_process(tmp_path, "--auth") as (_, url), httpx.Client(base_url=url) as client:
        assert client.get("/health").status_code == 200
        assert client.get("/v1/stats").status_code == 401


def test_serves_https_with_tls_options(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    tls = ["--ssl-certfile", str(cert), "--ssl-keyfile", str(key)]
    with maia_process(tmp_path / "data", *tls, scheme="https") as (_, url):
        with httpx.Client(base_url=url, verify=False) as client:
            assert client.get("/v1/stats").status_code == 200
        with pytest.raises(httpx.TransportError):
            httpx.get(url.replace("https", "http") + "/health", timeout=5)


def test_tls_needs_both_files(tmp_path: Path) -> None:
    result = serve_refused(tmp_path, "--ssl-certfile", "c.pem")
    assert result.returncode == 2
    assert "--ssl-keyfile" in result.stderr


def test_bad_settings_are_reported(tmp_path: Path) -> None:
    result = serve_refused(tmp_path, MAIA_HTTP_PORT="not-a-port")
    assert result.returncode == 2
    assert "MAIA_HTTP_PORT" in result.stderr
