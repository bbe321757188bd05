"""``maia``: run the server, and (as the project grows) manage memories from the shell."""

from __future__ import annotations

import contextlib
import gc
import ipaddress
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

from maia._version import __version__
from maia.cli import remote
from maia.cli.aliases import alias_group
from maia.errors import InvalidInput, MaiaError

if TYPE_CHECKING:
    from maia.service import Maia

# Short names of commands; they do not appear in --help (docs/cli.md lists them).
ROOT_ALIASES = {"ctx": "context", "mem": "memory", "m": "memory", "ns": "namespace"}

app = typer.Typer(
    name="maia",
    help="MAIA: memory for LLM applications and agents.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    cls=alias_group(ROOT_ALIASES),
)
err_console = Console(stderr=True)


def fail(exc: MaiaError) -> NoReturn:
    """The CLI's error mapping: message on stderr, exit 2 for bad input, else 1."""
    err_console.print(f"[bold red]Error:[/] {exc.message}", highlight=False, markup=True)
    raise typer.Exit(2 if isinstance(exc, InvalidInput) else 1)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


DataDirOption = Annotated[
    Path | None,
    typer.Option(help="Data directory (default: MAIA_DATA_DIR or the user data dir)"),
]
ConfigOption = Annotated[Path | None, typer.Option(help="TOML settings file")]


def open_local(config: Path | None, data_dir: Path | None, *, log: bool = False) -> Maia:
    """The embedded store named by the options and settings; bad settings exit cleanly."""
    from maia.logs import configure_logging
    from maia.service import Maia
    from maia.settings import Settings

    try:
        settings = Settings.load(config, data_dir=data_dir)
        if log:  # stderr only: for `maia mcp`, stdout carries the protocol
            configure_logging(settings.log_level, settings.log_format)
        return Maia.open(settings=settings)
    except MaiaError as exc:
        fail(exc)


def build_info() -> tuple[str, str]:
    """(commit, install time) of this copy of MAIA; ``unknown`` where it cannot be told
    (the commit needs a git checkout, as with an editable install)."""
    import subprocess
    from datetime import UTC, datetime
    from importlib import metadata

    commit = built = "unknown"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        found = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=2,
            check=True,
        )
        commit = found.stdout.strip() or commit
    with contextlib.suppress(metadata.PackageNotFoundError, OSError, TypeError):
        record = metadata.distribution("maia").locate_file("")
        info = next(Path(str(record)).glob("maia-*.dist-info"), None)
        if info is not None:
            built = datetime.fromtimestamp(info.stat().st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return commit, built


@app.command()
def version() -> None:
    """Print the version, the commit and when this copy was installed."""
    commit, built = build_info()
    typer.echo(f"{'maiactl' if remote.Mode.maiactl else 'maia'} {__version__}")
    typer.echo(f"commit: {commit}")
    typer.echo(f"built: {built}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default: 127.0.0.1)")] = None,
    port: Annotated[
        int | None, typer.Option("--port", "-p", help="HTTP port (default: 8080)")
    ] = None,
    data_dir: DataDirOption = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="PostgreSQL URL (postgresql://…) instead of the embedded store "
            "(default: MAIA_DATABASE_URL)",
        ),
    ] = None,
    config: ConfigOption = None,
    auth: Annotated[
        bool, typer.Option("--auth", help="Require an API key even on loopback")
    ] = False,
    insecure: Annotated[
        bool,
        typer.Option("--insecure", help="Allow a non-loopback address without authentication"),
    ] = False,
    ssl_certfile: Annotated[
        Path | None, typer.Option("--ssl-certfile", help="TLS certificate (PEM): serve HTTPS")
    ] = None,
    ssl_keyfile: Annotated[
        Path | None, typer.Option("--ssl-keyfile", help="TLS private key (PEM)")
    ] = None,
) -> None:
    """Run the REST server (and MCP at /mcp) on the embedded store or PostgreSQL."""
    import uvicorn

    from maia.api import create_app
    from maia.logs import configure_logging
    from maia.service import Maia
    from maia.settings import Settings

    try:
        settings = Settings.load(
            config,
            host=host,
            http_port=port,
            data_dir=data_dir,
            database_url=database_url,
            auth=auth or None,
            insecure=insecure or None,
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
        )
        if (settings.ssl_certfile is None) != (settings.ssl_keyfile is None):
            raise InvalidInput(
                "invalid TLS options: give both --ssl-certfile and --ssl-keyfile",
                field="ssl_certfile",
            )
        configure_logging(settings.log_level, settings.log_format)
        maia = Maia.open(settings=settings)
    except MaiaError as exc:
        fail(exc)
    with maia:
        has_key = settings.api_key is not None and bool(settings.api_key.get_secret_value())
        authenticated = settings.auth or has_key or maia.has_api_keys()
        if not is_loopback(settings.host) and not authenticated and not settings.insecure:
            fail(
                InvalidInput(
                    f"refusing to serve on {settings.host} without authentication: create a "
                    "key (maia admin key create), set MAIA_API_KEY, or pass --insecure to "
                    "accept unauthenticated access",
                    field="host",
                )
            )
        if settings.auth and not has_key and not maia.has_api_keys():
            err_console.print(
                "auth is on but no API key exists yet: create one with "
                "`maia admin key create --scopes '*'`",
                highlight=False,
            )
        scheme = "https" if settings.ssl_certfile else "http"
        err_console.print(
            f"MAIA {__version__} on {scheme}://{settings.host}:{settings.http_port} "
            f"(data: {maia.store.location})",
            highlight=False,
        )
        try:
            api = create_app(maia)  # tracing without its extra is refused here
            _check_address(settings.host, settings.http_port)
        except MaiaError as exc:
            fail(exc)
        # What start-up built (indexes, the app) lives as long as the server: frozen out
        # of the collector's sight, so that a full collection no longer walks it (with
        # 10,000 memories held, a pause of tens of milliseconds in some request).
        gc.collect()
        gc.freeze()
        uvicorn.run(
            api,
            host=settings.host,
            port=settings.http_port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=10,
            ssl_certfile=settings.ssl_certfile,
            ssl_keyfile=settings.ssl_keyfile,
        )


def _check_address(host: str, port: int) -> None:
    """Refuses an address the server could not listen on (in use, not this machine's)
    as a bad option, before uvicorn would fail with a status of its own."""
    try:
        family, *_, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        socket.create_server(address, family=family).close()  # (keeps an IPv6 scope)
    except OSError as exc:
        raise InvalidInput(
            f"invalid address: cannot listen on {host}:{port}: {exc.strerror or exc}",
            field="port",
        ) from exc


@app.command()
def mcp(
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    url: Annotated[
        str | None,
        typer.Option("--url", help="Act on this MAIA server over REST instead of a data dir"),
    ] = None,
    api_key: remote.ApiKeyOption = None,
) -> None:
    """Run the MCP server over stdio (for Claude Desktop, Cursor...): on the embedded
    store, or with --url on a running MAIA server."""
    import anyio

    from maia.mcp import create_mcp_server

    if url is None:
        from maia.inference import InferenceRouter

        with open_local(config, data_dir, log=True) as maia:
            try:
                inference = InferenceRouter.from_settings(maia.settings)
            except MaiaError as exc:
                fail(exc)

            async def serve_stdio() -> None:
                await inference.start()
                try:
                    await create_mcp_server(maia, inference).run_stdio_async()
                finally:
                    await inference.aclose()

            anyio.run(serve_stdio)
        return
    from maia.logs import configure_logging
    from maia.mcp.remote import RemoteMaia
    from maia.settings import Settings

    try:
        settings = Settings.load(config)
        configure_logging(settings.log_level, settings.log_format)  # stderr only
    except MaiaError as exc:
        fail(exc)
    with remote.connect(url, api_key) as client:
        with remote.reporting("reach the MAIA server"):
            client.stats()  # fail now, not at the first tool call: bad URL or key
        anyio.run(create_mcp_server(RemoteMaia(client, settings)).run_stdio_async)


@app.command()
def reindex(
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Embed every memory lacking an embedding of the configured model (after a model change)."""
    from rich.progress import Progress

    with open_local(config, data_dir) as maia, Progress(console=err_console) as progress:
        task = progress.add_task("re-embedding", total=None)
        done = maia.reindex(lambda n, total: progress.update(task, completed=n, total=total))
    typer.echo(f"re-embedded {done} memories with {maia.engine.embedder.model_id}")


@app.command("context")
def context_command(
    query: Annotated[str, typer.Argument(help="What the context is for")],
    namespace: Annotated[str, typer.Option("--namespace", "-n")] = "default",
    token_budget: Annotated[int, typer.Option("--token-budget", "-b")] = 4000,
    system: Annotated[str | None, typer.Option("--system", help="System prompt")] = None,
    scores: Annotated[bool, typer.Option("--scores", help="Prefix memories with scores")] = False,
    dates: Annotated[
        bool, typer.Option("--dates", help="Prefix memories with the date written (UTC)")
    ] = False,
    min_score: Annotated[float, typer.Option("--min-score")] = 0.0,
    output_format: Annotated[str, typer.Option("--format", help="text, markdown or xml")] = "text",
    raw: Annotated[bool, typer.Option("--raw", "-r", help="Print only the context")] = False,
    server: remote.ServerOption = None,
    api_key: remote.ApiKeyOption = None,
    as_json: remote.JsonOption = False,
) -> None:
    """Assemble the context for QUERY on a server (POST /v1/context) (alias: ctx)."""
    with remote.connect(server, api_key) as client, remote.reporting("get context"):
        response = client.get_context(
            query,
            namespace=namespace,
            token_budget=token_budget,
            system_prompt=system or None,
            include_scores=scores,
            include_dates=dates or None,
            min_score=min_score if min_score > 0 else None,
            format=output_format,
        )
    result = response.model_dump(mode="json")
    if as_json:
        remote.print_json(result)
    elif raw:
        typer.echo(result["content"])
    else:
        show_context(query, result, scores=scores)


def show_context(query: str, result: dict[str, Any], *, scores: bool = False) -> None:
    from rich.rule import Rule
    from rich.table import Table
    from rich.text import Text

    out = Console()
    truncated = " (truncated)" if result["truncated"] else ""
    out.print(f"Query: {query}", markup=False)
    out.print(f"Tokens: {result['token_count']} / {result['token_budget']}{truncated}")
    out.print(f"Query time: {result['query_time']}", markup=False)
    stats = result["zone_stats"]
    zones = Table(title="Zones")
    for column in ("zone", "used", "budget"):
        zones.add_column(column)
    for zone in ("critical", "middle", "recency"):
        zones.add_row(zone, str(stats[f"{zone}_used"]), str(stats[f"{zone}_budget"]))
    out.print(zones)
    memories = Table(title="Memories")
    columns = ("#", "ID", "TYPE", "POSITION", "TOKENS", *(("SCORE",) * scores), "CONTENT")
    for column in columns:
        memories.add_column(column)
    for i, memory in enumerate(result["memories"], start=1):
        score = (f"{memory.get('score', 0):.2f}",) * scores  # with --scores (contract 10)
        memories.add_row(
            str(i),
            memory["id"][:8] + "...",
            memory["type"],
            memory["position"],
            str(memory["token_count"]),
            *score,
            Text(memory["content"][:60]),  # plain text: brackets are not markup
        )
    out.print(memories)
    out.print(Rule())
    # Verbatim: no markup, no :emoji: codes, long lines not wrapped.
    out.print(result["content"], markup=False, highlight=False, emoji=False, soft_wrap=True)
    out.print(Rule())


bench_app = typer.Typer(help="Benchmarks.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@bench_app.command("locomo")
def bench_locomo(
    data: Annotated[Path, typer.Option(help="Path to locomo10.json")],
    conversations: Annotated[
        int | None, typer.Option(help="Only the first N conversations")
    ] = None,
) -> None:
    """LoCoMo turn-level recall@k (prints markdown tables)."""
    from maia.bench.locomo import markdown, run

    if not data.is_file():
        fail(InvalidInput(f"invalid data: file not found: {data}", field="data"))
    report = run(
        data,
        limit_conversations=conversations,
        progress=lambda message: err_console.print(message, highlight=False),
    )
    typer.echo(markdown(report))


# Commands kept in modules of their own register themselves on `app` when imported.
from maia.cli import admin, migrate, transfer  # noqa: E402, F401
from maia.cli import memory as _memory  # noqa: E402, F401
from maia.cli import namespace as _namespace  # noqa: E402, F401
from maia.cli import stats as _stats  # noqa: E402, F401

# Options every command that talks to a server takes; given before the command
# (``maia -s URL memory list``, as maiactl takes them) they are moved after it.
_GLOBAL_OPTIONS = {"-s": True, "--server": True, "--api-key": True, "-j": False, "--json": False}


def hoist_global_options(args: list[str]) -> list[str]:
    """``args`` with the global options found before the command moved to its end."""
    from typer.core import TyperGroup

    group = typer.main.get_command(app)
    ctx = typer.Context(group)
    path: list[str] = []
    moved: list[str] = []
    i = 0
    while i < len(args) and isinstance(group, TyperGroup):
        token = args[i]
        name, has_value, _ = token.partition("=")
        if name in _GLOBAL_OPTIONS:
            width = 2 if _GLOBAL_OPTIONS[name] and not has_value else 1
            moved += args[i : i + width]
            i += width
            continue
        command = None if token.startswith("-") else group.get_command(ctx, token)
        if command is None:
            break
        path.append(token)
        group = command
        i += 1
    return [*path, *args[i:], *moved]


def main() -> None:
    sys.exit(app(args=hoist_global_options(sys.argv[1:])))


def maiactl() -> None:
    """``maiactl``: the same commands, with the original CLI's name and exit statuses
    (every error 1, a usage error too)."""
    remote.Mode.maiactl = True
    try:
        app(args=hoist_global_options(sys.argv[1:]), prog_name="maiactl")
    except SystemExit as exc:
        sys.exit(1 if exc.code == 2 else exc.code)
