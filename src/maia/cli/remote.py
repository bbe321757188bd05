"""Talking to a running MAIA server from the CLI: options, requests, error mapping."""

from __future__ import annotations

import os
from typing import Annotated, Any, NoReturn

import httpx
import typer
from rich.console import Console

DEFAULT_SERVER = "http://localhost:8080"
err_console = Console(stderr=True)

ServerOption = Annotated[
    str | None,
    typer.Option("--server", "-s", help="Server URL (default: MAIA_URL or http://localhost:8080)"),
]
ApiKeyOption = Annotated[
    str | None, typer.Option("--api-key", help="API key (default: MAIA_API_KEY)")
]
JsonOption = Annotated[bool, typer.Option("--json", "-j", help="Print the API's JSON")]


def request(
    method: str,
    path: str,
    *,
    server: str | None,
    api_key: str | None,
    action: str,
    json: Any = None,
) -> Any:
    """One API call; on failure prints ``Error: failed to <action>: <message> (<CODE>)``
    to stderr and exits 1."""
    base = server or os.environ.get("MAIA_URL") or DEFAULT_SERVER
    key = api_key or os.environ.get("MAIA_API_KEY")
    headers = {"X-API-Key": key} if key else {}
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=30.0) as client:
            response = client.request(method, path, json=json)
    except httpx.HTTPError as exc:
        die(f"failed to {action}: cannot reach {base}: {exc}")
    if response.status_code >= 400:
        try:
            body = response.json()
            message = body.get("error") or response.text
            if body.get("message"):
                message = f"{message}: {body['message']}"
            code = body.get("code")
        except ValueError:
            message, code = response.text or f"HTTP {response.status_code}", None
        die(f"failed to {action}: {message}" + (f" ({code})" if code else ""))
    return response.json()


def die(message: str) -> NoReturn:
    err_console.print(f"Error: {message}", markup=False, highlight=False)
    raise typer.Exit(1)
