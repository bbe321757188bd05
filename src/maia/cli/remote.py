"""Talking to a running MAIA server from the CLI: options, the SDK client, error
mapping and exit statuses."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

if TYPE_CHECKING:
    from maia.client import Client, MaiaClientError
    from maia.errors import MaiaError

err_console = Console(stderr=True)

ServerOption = Annotated[
    str | None,
    typer.Option("--server", "-s", help="Server URL (default: MAIA_URL or http://localhost:8080)"),
]
ApiKeyOption = Annotated[
    str | None, typer.Option("--api-key", help="API key (default: MAIA_API_KEY)")
]
JsonOption = Annotated[bool, typer.Option("--json", "-j", help="Print the API's JSON")]


def connect(server: str | None, api_key: str | None) -> Client:
    """The SDK client for ``--server`` (else ``MAIA_URL``, else ``http://localhost:8080``)
    and ``--api-key`` (else ``MAIA_API_KEY``)."""
    import httpx

    from maia.client import Client

    if server:
        try:
            url = httpx.URL(server)
        except httpx.InvalidURL:
            url = None
        if url is None or url.scheme not in ("http", "https") or not url.host:
            usage_error(f"invalid --server: {server!r} is no http:// or https:// URL")
    return Client(server or None, api_key=api_key or None)


# Exit statuses of the commands that call a server (docs/cli.md, "Exit status"). Run as
# ``maiactl`` (the original CLI's name), every error exits 1, as that CLI did.
EXIT_ERROR = 1  # the server failed, or any other error
EXIT_INVALID = 2  # invalid input or usage (also Typer's own usage errors)
EXIT_NOT_FOUND = 3
EXIT_AUTH = 4  # 401, 403
EXIT_LIMITED = 5  # 429: rate limited or over a quota
EXIT_UNREACHABLE = 6  # network error, timeout, 503
EXIT_CONFLICT = 7  # 409: already exists, conflict


class Mode:
    """How the CLI was invoked: ``maiactl`` keeps the original CLI's exit statuses."""

    maiactl = False


def exit_code(exc: MaiaClientError) -> int:
    """The exit status for an SDK error."""
    if Mode.maiactl:
        return EXIT_ERROR
    from maia.client import (
        ConflictError,
        ForbiddenError,
        InvalidInputError,
        NetworkError,
        NotFoundError,
        QuotaExceededError,
        RateLimitedError,
        UnauthorizedError,
        UnavailableError,
        ValidationError,
    )

    match exc:
        case ValidationError() | InvalidInputError():
            return EXIT_INVALID
        case NotFoundError():
            return EXIT_NOT_FOUND
        case UnauthorizedError() | ForbiddenError():
            return EXIT_AUTH
        case RateLimitedError() | QuotaExceededError():
            return EXIT_LIMITED
        case NetworkError() | UnavailableError():
            return EXIT_UNREACHABLE
        case ConflictError():
            return EXIT_CONFLICT
    return EXIT_ERROR


def local_exit_code(exc: MaiaError) -> int:
    """The same exit statuses for the errors of a local (embedded) store."""
    from maia.errors import (
        AlreadyExists,
        Conflict,
        Forbidden,
        InvalidInput,
        NotFound,
        QuotaExceeded,
        RateLimited,
        Unauthorized,
        Unavailable,
    )

    match exc:
        case InvalidInput():
            return EXIT_INVALID
        case NotFound():
            return EXIT_NOT_FOUND
        case Unauthorized() | Forbidden():
            return EXIT_AUTH
        case QuotaExceeded() | RateLimited():
            return EXIT_LIMITED
        case Unavailable():
            return EXIT_UNREACHABLE
        case AlreadyExists() | Conflict():
            return EXIT_CONFLICT
    return EXIT_ERROR


MESSAGE_CHARS = 300  # of a server's error message, at most


def fail(action: str, exc: MaiaClientError) -> NoReturn:
    """``Error: failed to <action>: <message> (<CODE>)`` on stderr, and exit."""
    code = getattr(exc, "code", None)
    suffix = f" ({code})" if code else ""
    # One line, and a short one: something not MAIA answering may send a page of HTML.
    message = " ".join(str(exc.message).split())
    if len(message) > MESSAGE_CHARS:
        message = message[: MESSAGE_CHARS - 1].rstrip() + "…"
    err_console.print(
        f"Error: failed to {action}: {message}{suffix}",
        markup=False,
        highlight=False,
        soft_wrap=True,  # one line, whatever the terminal's width: scripts grep it
    )
    raise typer.Exit(exit_code(exc))


@contextlib.contextmanager
def reporting(action: str) -> Iterator[None]:
    """Runs SDK calls; an SDK error ends the command through :func:`fail`."""
    from maia.client import MaiaClientError

    try:
        yield
    except MaiaClientError as exc:
        fail(action, exc)


def usage_error(message: str) -> NoReturn:
    """A command given nothing to do (``no updates specified``): exit 2."""
    err_console.print(f"Error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_ERROR if Mode.maiactl else EXIT_INVALID)


def print_json(data: Any) -> None:
    """The API's JSON, 2-space indent (for jq)."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def die(message: str) -> NoReturn:
    err_console.print(f"Error: {message}", markup=False, highlight=False)
    raise typer.Exit(1)
