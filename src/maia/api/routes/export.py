"""``GET /v1/export``: the tenant's records as JSON Lines, streamed."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Generator
from typing import Annotated

import anyio
import anyio.from_thread
import anyio.to_thread
from anyio.streams.memory import MemoryObjectSendStream
from fastapi import Query
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from maia.api.auth import requires
from maia.api.deps import MaiaDep
from maia.api.strict import api_router
from maia.models import Scope as KeyScope
from maia.models.transfer import MEDIA_TYPE, ExportFilter

log = logging.getLogger(__name__)

router = api_router(tags=["export"])

CHUNK_BYTES = 64 * 1024


class ThreadStreamingResponse(StreamingResponse):
    """Streams what a blocking iterator yields, running all of it in one worker thread.

    The export iterator holds a read transaction on its thread's connection, so it
    cannot hop between threads as Starlette's iteration of a sync iterator would.
    A client that goes away stops the iterator (and ends its transaction); an error
    in it after the headers went out breaks the connection, so the client sees a
    truncated body instead of a complete one.
    """

    def __init__(self, lines: Callable[[], Generator[str, None, None]], media_type: str) -> None:
        super().__init__(iter(()), media_type=media_type)
        self._lines = lines

    def _produce(self, sender: MemoryObjectSendStream[bytes]) -> None:
        with sender, contextlib.closing(self._lines()) as lines:
            chunk: list[str] = []
            size = 0
            for line in lines:
                chunk.append(line)
                size += len(line)
                if size >= CHUNK_BYTES:
                    anyio.from_thread.run(sender.send, "".join(chunk).encode())
                    chunk, size = [], 0
            if chunk:
                anyio.from_thread.run(sender.send, "".join(chunk).encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sender, receiver = anyio.create_memory_object_stream[bytes](max_buffer_size=4)
        failure: list[BaseException] = []

        async def produce() -> None:
            try:
                await anyio.to_thread.run_sync(self._produce, sender)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                pass  # the client went away
            except Exception as exc:
                log.exception("export failed while streaming")
                failure.append(exc)

        async def watch_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            tg.cancel_scope.cancel()

        async with anyio.create_task_group() as tg:
            tg.start_soon(produce)
            tg.start_soon(watch_disconnect)
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            async with receiver:
                async for chunk in receiver:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if not failure:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            tg.cancel_scope.cancel()
        if failure:  # after the headers: break the connection, never end the body cleanly
            raise failure[0]


@router.get(
    "/v1/export",
    responses={200: {"content": {MEDIA_TYPE: {}}, "description": "JSON Lines"}},
    summary="Export the tenant's namespaces, memories and relations as JSON Lines",
    dependencies=[requires(KeyScope.ADMIN)],
)
def export(maia: MaiaDep, flt: Annotated[ExportFilter, Query()]) -> ThreadStreamingResponse:
    lines = maia.export_lines(flt)  # checks the caller before any byte is sent
    return ThreadStreamingResponse(lambda: lines, media_type=MEDIA_TYPE)
