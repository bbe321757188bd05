"""MCP over streamable HTTP inside the REST app: one endpoint, started by its lifespan.

The endpoint sits behind the app's middleware (request ids, rate limit, API key), so
``/mcp`` needs the same key as REST when one is configured.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.types import Receive, Scope, Send

from maia.mcp.server import MaiaMCPServer
from maia.settings import Settings

MCP_PATH = "/mcp"


class McpHttpEndpoint:
    """ASGI app for ``/mcp``; ``lifespan()`` must be running while it serves.

    Each lifespan gets a fresh session manager (the SDK's cannot be restarted), so an
    app may be started more than once (as test clients do).
    """

    def __init__(self, server: MaiaMCPServer, settings: Settings) -> None:
        self.server = server
        self.settings = settings
        self._manager: StreamableHTTPSessionManager | None = None

    @contextlib.asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        # Builds the session manager (with the SDK's DNS-rebinding protection when bound
        # to loopback); the Starlette app it returns is not used.
        self.server.streamable_http_app(streamable_http_path=MCP_PATH, host=self.settings.host)
        manager = self.server.session_manager
        async with manager.run():
            self._manager = manager
            try:
                yield
            finally:
                self._manager = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._manager is None:
            raise RuntimeError("the MCP endpoint is not started (app lifespan not running)")
        await self._manager.handle_request(scope, receive, send)
