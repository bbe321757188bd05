"""What the HTTP providers share: one lazily opened ``httpx.AsyncClient``, the timeout,
retries with exponential backoff (honouring ``Retry-After`` up to a cap), the mapping of
transport failures and error answers to the inference errors, and line/SSE reading."""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import httpx

from maia.inference.errors import (
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
    error_type_for,
)

log = logging.getLogger(__name__)

# The Authorization header of the proxy request being served, for providers that
# forward it (``forward_authorization``); set by the proxy routes around their calls.
client_authorization: ContextVar[str | None] = ContextVar("maia_client_authorization", default=None)


@dataclass(frozen=True, slots=True)
class HttpOptions:
    """Where an upstream is and how patiently to talk to it."""

    base_url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 60.0
    max_retries: int = 2
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 30.0
    forward_authorization: bool = False


def retryable(status: int) -> bool:
    """Statuses worth another attempt: rate limited, or a server-side failure (but not
    ``501 Not Implemented``, which will not change)."""
    return status == 429 or (status >= 500 and status != 501)


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """``retry-after-ms`` (OpenAI) or ``Retry-After`` in seconds or as an HTTP date."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def normalise_error_body(status: int, payload: Any, text: str) -> dict[str, Any]:
    """An upstream's error answer in OpenAI's shape ``{"error": {"message", "type", …}}``.
    An ``error`` object is kept as it is (missing ``message``/``type`` filled in)."""
    error: dict[str, Any]
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        error = dict(payload["error"])
    elif isinstance(payload, dict) and isinstance(payload.get("error"), str):
        error = {"message": payload["error"]}
    elif isinstance(payload, dict) and isinstance(payload.get("message"), str):
        error = {"message": payload["message"]}
    elif isinstance(payload, dict) and isinstance(payload.get("detail"), str):
        error = {"message": payload["detail"]}  # FastAPI-style servers (vLLM)
    else:
        error = {"message": text.strip()[:1000]}
    if not error.get("message"):
        error["message"] = f"upstream answered {status}"
    if not error.get("type"):
        error["type"] = error_type_for(status)
    return {"error": error}


def parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


class HttpProvider:
    """Base of the providers that call an upstream over HTTP."""

    def __init__(self, name: str, options: HttpOptions) -> None:
        self.name = name
        self.options = options
        self._http: httpx.AsyncClient | None = None

    def _client(self) -> httpx.AsyncClient:
        # Opened on first use, inside the event loop that uses it.
        if self._http is None:
            self._http = httpx.AsyncClient(
                base_url=self.options.base_url,
                headers=dict(self.options.headers),
                timeout=httpx.Timeout(self.options.timeout),
            )
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            http, self._http = self._http, None
            await http.aclose()

    def error_body(self, status: int, payload: Any, text: str) -> dict[str, Any]:
        """The OpenAI-shaped body of an error answer; providers may translate more."""
        return normalise_error_body(status, payload, text)

    def _transport_error(self, exc: httpx.RequestError) -> Exception:
        if isinstance(exc, httpx.TimeoutException):
            return UpstreamTimeout(f"request to provider {self.name!r} timed out")
        reason = str(exc) or type(exc).__name__
        return UpstreamUnavailable(f"provider {self.name!r} failed: {reason}")

    async def _error_from(self, response: httpx.Response) -> UpstreamError:
        try:
            text = (await response.aread()).decode("utf-8", "replace")
        except httpx.RequestError:
            text = ""
        finally:
            await response.aclose()
        status = response.status_code
        return UpstreamError(
            status,
            self.error_body(status, parse_json(text), text),
            provider=self.name,
            retry_after=retry_after_seconds(response.headers),
        )

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        wait = retry_after if retry_after is not None else self.options.backoff_seconds * 2**attempt
        return min(wait, self.options.max_backoff_seconds)

    async def send(
        self, method: str, path: str, *, json_body: Any = None, stream: bool = False
    ) -> httpx.Response:
        """A successful response (``status < 400``); retried on connection failures,
        timeouts, 429 and 5xx. A streamed response must be closed by the caller."""
        client = self._client()
        headers = None
        if self.options.forward_authorization and (auth := client_authorization.get()):
            headers = {"Authorization": auth}  # over the configured key's
        attempt = 0
        while True:
            request = client.build_request(method, path, json=json_body, headers=headers)
            failure: Exception
            retry_after: float | None = None
            try:
                response = await client.send(request, stream=stream)
            except httpx.RequestError as exc:
                failure = self._transport_error(exc)
            else:
                if response.status_code < 400:
                    if not stream:
                        await response.aclose()
                    return response
                error = await self._error_from(response)
                if not retryable(error.status):
                    raise error
                failure, retry_after = error, error.retry_after
            if attempt >= self.options.max_retries:
                raise failure
            delay = self._delay(attempt, retry_after)
            log.warning(
                "provider %s: %s; retry %d of %d in %.2f s",
                self.name,
                failure,
                attempt + 1,
                self.options.max_retries,
                delay,
            )
            await asyncio.sleep(delay)
            attempt += 1

    async def request_json(self, method: str, path: str, json_body: Any = None) -> Any:
        """The JSON of a successful answer (retried as ``send`` does)."""
        response = await self.send(method, path, json_body=json_body)
        try:
            return response.json()
        except ValueError:
            raise self.bad_answer("invalid JSON") from None

    def unfinished(self) -> UpstreamError:
        """A stream that stopped before its end (or was no stream): a 502, not an answer
        the client would take for complete."""
        return self.bad_answer("a stream that ended before it was finished")

    def bad_answer(self, what: str) -> UpstreamError:
        """A 502 for an answer MAIA cannot read (counts as a server failure)."""
        return UpstreamError(
            502,
            {"error": {"message": f"upstream sent {what}", "type": "backend_error"}},
            provider=self.name,
        )

    async def stream_lines(self, path: str, json_body: Any) -> AsyncIterator[str]:
        """The lines of a streamed POST answer, as they arrive."""
        response = await self.send("POST", path, json_body=json_body, stream=True)
        try:
            async for line in response.aiter_lines():
                yield line
        except httpx.RequestError as exc:
            raise self._transport_error(exc) from exc
        finally:
            await response.aclose()


async def sse_events(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, str]]:
    """Server-sent events as ``(event, data)``: ``event`` is ``"message"`` unless named;
    multi-line ``data`` is joined with newlines; comments (``: …``) are skipped."""
    event = "message"
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "message", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
    if data:
        yield event, "\n".join(data)
