"""``MaiaMCPServer``: the SDK's ``MCPServer`` with the contract's protocol rules.

The SDK reports bad tool arguments as a tool error result; the contract wants schema
violations (missing required argument, wrong type, unknown argument) as JSON-RPC
"invalid params" errors, and every tool schema closed (``additionalProperties: false``).
It also lists the concrete resources among the resource templates, and gives each
prompt result a description naming its arguments.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    CallToolResult,
    GetPromptResult,
    InputRequiredResult,
    Prompt,
    ResourceTemplate,
    TextContent,
    Tool,
)
from pydantic import AnyUrl, ValidationError

from maia.inference.router import InferenceRouter
from maia.mcp.facade import MemoryFacade
from maia.mcp.render import describe_validation
from maia.models import Scope
from maia.security.principal import OPEN_PRINCIPAL, PRINCIPAL_KEY, Principal

SERVER_NAME = "maia"
# The contract's serverInfo.version (the protocol surface's version, not the package's).
SERVER_VERSION = "1.0.0"
INSTRUCTIONS = (
    "MAIA is a long-term memory. Use `remember` to store facts, preferences and events, "
    "`recall` to find memories relevant to a question, `get_context` for a ready-to-use "
    "context block within a token budget, and `forget` (with confirm=true) to delete."
)

PromptDescriber = Callable[[Mapping[str, Any]], str]

# The scopes (any one) an API key needs for each tool; resources need read, prompts
# context or read: the same rules as the REST routes doing the same thing.
TOOL_SCOPES: dict[str, tuple[Scope, ...]] = {
    "remember": (Scope.WRITE,),
    "recall": (Scope.SEARCH, Scope.READ),
    "forget": (Scope.DELETE,),
    "list_memories": (Scope.READ,),
    "get_context": (Scope.CONTEXT, Scope.READ),
    "relate": (Scope.WRITE,),
    "update_memory": (Scope.WRITE,),
    "maia_complete": (Scope.INFERENCE,),
    "maia_stream": (Scope.INFERENCE,),
    "maia_list_models": (Scope.INFERENCE, Scope.STATS),
}
RESOURCE_SCOPES = (Scope.READ,)
PROMPT_SCOPES = (Scope.CONTEXT, Scope.READ)

# The façade as the current request's caller (set around each tool, resource, prompt).
_caller: ContextVar[MemoryFacade | None] = ContextVar("maia_mcp_caller", default=None)


class MaiaMCPServer(MCPServer[Any]):
    """One MCP server over one ``Maia``; see ``create_mcp_server``."""

    def __init__(self, maia: MemoryFacade) -> None:
        super().__init__(
            SERVER_NAME,
            title="MAIA memory",
            version=SERVER_VERSION,
            instructions=INSTRUCTIONS,
            # Memory servers answer in JSON; the SDK's own log lines go to stderr.
            log_level="WARNING",
        )
        self.maia = maia
        self._prompt_describers: dict[str, PromptDescriber] = {}
        self._template_aliases: list[ResourceTemplate] = []

    def caller(self) -> MemoryFacade:
        """The façade acting as the caller of the request being served: over HTTP the
        API key's tenant and namespaces; over stdio the local user."""
        return _caller.get() or self.maia

    def _principal(self, context: Context[Any, Any] | None) -> Principal:
        try:
            request = context.request_context.request if context is not None else None
        except ValueError:  # no request context (a direct call)
            request = None
        scope = getattr(request, "scope", None)
        if not isinstance(scope, dict):
            return self.maia.principal  # stdio: whoever started the process
        principal: Principal = scope.get("state", {}).get(PRINCIPAL_KEY, OPEN_PRINCIPAL)
        return principal

    @contextlib.contextmanager
    def _acting_as(self, principal: Principal) -> Iterator[None]:
        token = _caller.set(self.maia.for_principal(principal))
        try:
            yield
        finally:
            _caller.reset(token)

    def describe_prompt(self, name: str, describe: PromptDescriber) -> None:
        """Sets how a rendered prompt's ``description`` is built from its arguments."""
        self._prompt_describers[name] = describe

    def list_as_template(self, template: ResourceTemplate) -> None:
        """Also lists a concrete resource under ``resources/templates/list``."""
        self._template_aliases.append(template)

    async def list_tools(self) -> list[Tool]:
        tools = await super().list_tools()
        for tool in tools:
            tool.input_schema = {**tool.input_schema, "additionalProperties": False}
            tool.description = inspect.cleandoc(tool.description or "")
        return tools

    async def list_prompts(self) -> list[Prompt]:
        prompts = await super().list_prompts()
        for prompt in prompts:
            prompt.description = inspect.cleandoc(prompt.description or "")
        return prompts

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        self._check_arguments(name, arguments)
        principal = self._principal(context)
        accepted = TOOL_SCOPES.get(name)
        if accepted is not None and not principal.allows(accepted):
            return CallToolResult(
                content=[TextContent(type="text", text=_scope_message(f"tool {name}", accepted))],
                is_error=True,
            )
        with self._acting_as(principal):
            return await super().call_tool(name, arguments, context)

    async def read_resource(
        self, uri: AnyUrl | str, context: Context[Any, Any] | None = None
    ) -> Iterable[ReadResourceContents] | InputRequiredResult:
        principal = self._principal(context)
        if not principal.allows(RESOURCE_SCOPES):
            raise MCPError(code=INVALID_REQUEST, message=_scope_message(str(uri), RESOURCE_SCOPES))
        with self._acting_as(principal):
            return await super().read_resource(uri, context)

    def _check_arguments(self, name: str, arguments: dict[str, Any]) -> None:
        """Raises JSON-RPC invalid params when ``arguments`` break the tool's schema."""
        tool = self._tool_manager.get_tool(name)
        if tool is None:
            return  # the SDK answers an unknown tool itself
        known = set(tool.parameters.get("properties", {}))
        extra = sorted(set(arguments) - known)
        if extra:
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"invalid arguments for tool {name}: "
                f"unknown argument(s) {', '.join(extra)}",
            )
        try:
            # Strictly: the SDK's own check parses strings as JSON and converts loosely
            # ("yes" would pass as confirm=true, "5" as a limit).
            tool.fn_metadata.arg_model.model_validate(arguments, strict=True)
        except ValidationError as exc:
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"invalid arguments for tool {name}: {describe_validation(exc)}",
            ) from exc

    async def list_resource_templates(self) -> list[ResourceTemplate]:
        return [*await super().list_resource_templates(), *self._template_aliases]

    async def get_prompt(
        self,
        name: str,
        arguments: dict[str, Any] | None = None,
        context: Context[Any, Any] | None = None,
    ) -> GetPromptResult | InputRequiredResult:
        prompt = self._prompt_manager.get_prompt(name)
        if prompt is None:
            raise MCPError(code=INVALID_PARAMS, message=f"unknown prompt: {name}")
        missing = [
            arg.name
            for arg in prompt.arguments or []
            if arg.required and not (arguments or {}).get(arg.name)
        ]
        if missing:
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"missing required argument(s) for prompt {name}: {', '.join(missing)}",
            )
        principal = self._principal(context)
        if not principal.allows(PROMPT_SCOPES):
            raise MCPError(
                code=INVALID_REQUEST, message=_scope_message(f"prompt {name}", PROMPT_SCOPES)
            )
        try:
            with self._acting_as(principal):
                result = await super().get_prompt(name, arguments, context)
        except ValueError as exc:
            invalid = _validation_cause(exc)
            if invalid is None:
                raise
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"invalid arguments for prompt {name}: {describe_validation(invalid)}",
            ) from exc
        describe = self._prompt_describers.get(name)
        if isinstance(result, GetPromptResult) and describe is not None:
            result.description = describe(arguments or {})
        return result


def _scope_message(what: str, accepted: tuple[Scope, ...]) -> str:
    return f"insufficient scope: {what} requires one of {', '.join(s.value for s in accepted)}, *"


def _validation_cause(exc: BaseException) -> ValidationError | None:
    """The argument validation error behind the SDK's wrapped prompt error, if any."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ValidationError):
            return seen
        seen = seen.__cause__
    return None


def create_mcp_server(
    maia: MemoryFacade, inference: InferenceRouter | None = None
) -> MaiaMCPServer:
    """The MCP server for ``maia``: tools, resources and prompts. The caller owns
    ``maia`` and closes it; one server may serve stdio or any number of HTTP sessions."""
    from maia.mcp import prompts, resources, tools

    server = MaiaMCPServer(maia)
    tools.register(server, maia)
    resources.register(server, maia)
    prompts.register(server, maia)
    if inference is not None:
        from maia.mcp import inference_tools

        inference_tools.register(server, inference)
    return server
