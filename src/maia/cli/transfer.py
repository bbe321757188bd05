"""``maia export``, ``maia import``, ``maia backup`` and ``maia restore``."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError

from maia.cli import remote
from maia.cli.main import ConfigOption, DataDirOption, app, err_console, fail, open_local
from maia.errors import InvalidInput, MaiaError, NotFound
from maia.models.transfer import ConflictPolicy, ExportFilter

if TYPE_CHECKING:
    from maia.models.transfer import ImportSummary
    from maia.service import Maia
    from maia.settings import Settings

TenantOption = Annotated[
    str | None, typer.Option("--tenant", help="Tenant to act on (default: the system tenant)")
]
ForceOption = Annotated[bool, typer.Option("--force", help="Replace what is there")]


@app.command("export")
def export_command(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout)")
    ] = None,
    namespace: Annotated[
        str | None, typer.Option("--namespace", "-n", help="Only this namespace")
    ] = None,
    include_descendants: Annotated[
        bool, typer.Option("--include-descendants", help="With -n: its descendants too")
    ] = False,
    created_after: Annotated[
        str | None, typer.Option(help="Only memories created at or after this time (ISO 8601)")
    ] = None,
    created_before: Annotated[
        str | None, typer.Option(help="Only memories created before this time (ISO 8601)")
    ] = None,
    with_embeddings: Annotated[
        bool, typer.Option("--with-embeddings", help="Include each memory's embedding")
    ] = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    tenant: TenantOption = None,
    server: Annotated[
        str | None, typer.Option("--server", "-s", help="Export from this server instead")
    ] = None,
    api_key: remote.ApiKeyOption = None,
) -> None:
    """Export namespaces, memories and relations as JSON Lines (docs/export.md)."""
    try:
        flt = ExportFilter.model_validate(
            {
                "namespace": namespace,
                "include_descendants": include_descendants,
                "created_after": created_after,
                "created_before": created_before,
                "with_embeddings": with_embeddings,
            }
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err["loc"])
        fail(InvalidInput(f"invalid {name}: {err['msg']}", field=name))
    if server is not None and (data_dir is not None or config is not None or tenant is not None):
        fail(InvalidInput("invalid options: --server excludes --data-dir, --config and --tenant"))
    if output is not None and output.is_dir():
        fail(InvalidInput(f"invalid --output: {output} is a directory", field="output"))
    if output is not None and not output.parent.is_dir():
        fail(InvalidInput(f"invalid --output: no directory {output.parent}", field="output"))
    with contextlib.ExitStack() as stack:
        # The store opens first: only what goes wrong with the output is "cannot write".
        maia = None if server is not None else stack.enter_context(open_local(config, data_dir))
        view = None if maia is None else _tenant_view(maia, tenant)
        try:
            with _output(output) as out:
                if view is None:
                    tail = _export_remote(flt, server or "", api_key, out)
                else:
                    lines = view.export_lines(flt)
                    try:
                        tail = _write(lines, out)
                    except MaiaError as exc:
                        fail(exc)
                    finally:
                        lines.close()  # before the store closes
                end = _end_record(tail)
                if end is None:  # raised before a file is put in place
                    remote.die("failed to export: the export ended early (no end record)")
        except BrokenPipeError:  # the reader went away (``maia export | head``)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(1) from None
        except OSError as exc:
            where = output or "standard output"
            remote.die(f"failed to export: cannot write {where}: {exc.strerror or exc}")
    err_console.print(
        f"exported {end['namespaces']} namespaces, {end['memories']} memories and "
        f"{end['relations']} relations" + (f" to {output}" if output else ""),
        highlight=False,
        markup=False,
    )


def _tenant_view(maia: Maia, tenant: str | None) -> Maia:
    """The store as ``tenant`` sees it: a tenant that does not exist is a mistake (its
    records would be reachable by no key), not an empty one."""
    if tenant is None:
        return maia
    try:
        maia.get_tenant(tenant)
    except NotFound:
        fail(
            InvalidInput(
                f"invalid --tenant: no tenant {tenant} (create it with `maia admin tenant create`)",
                field="tenant",
            )
        )
    return maia.for_tenant(tenant)


@contextlib.contextmanager
def _output(path: Path | None) -> Iterator[IO[bytes]]:
    """stdout, or a temporary file renamed to ``path`` once the export is complete."""
    if path is None:
        stdout = sys.stdout.buffer
        yield stdout
        stdout.flush()
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as handle:
            yield handle
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write(lines: Iterable[str], out: IO[bytes]) -> bytes:
    last = b""
    for line in lines:
        last = line.encode()
        out.write(last)
    return last


def _export_remote(flt: ExportFilter, server: str, api_key: str | None, out: IO[bytes]) -> bytes:
    import httpx

    key = api_key or os.environ.get("MAIA_API_KEY")
    headers = {"X-API-Key": key} if key else {}
    params = flt.model_dump(mode="json", exclude_defaults=True)
    tail = b""
    try:
        with (
            httpx.Client(base_url=server, headers=headers, timeout=60.0) as client,
            client.stream("GET", "/v1/export", params=params) as response,
        ):
            if response.status_code >= 400:
                response.read()
                remote.die(f"failed to export: {_error_message(response)}")
            for chunk in response.iter_bytes():
                out.write(chunk)
                tail = (tail + chunk)[-4096:]
    except httpx.HTTPError as exc:
        remote.die(f"failed to export: {server}: {exc}")
    return tail


def _error_message(response: Any) -> str:
    try:
        body = response.json()
        message = body.get("error") or response.text
        if body.get("message"):
            message = f"{message}: {body['message']}"
        code = body.get("code")
    except ValueError:
        message, code = response.text or f"HTTP {response.status_code}", None
    return str(message) + (f" ({code})" if code else "")


def _end_record(tail: bytes) -> dict[str, Any] | None:
    last = tail.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    try:
        record = json.loads(last)
    except ValueError:
        return None
    return record if isinstance(record, dict) and record.get("kind") == "end" else None


@app.command("import")
def import_command(
    file: Annotated[str, typer.Argument(help="Export file (JSON Lines); - reads stdin")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would happen; write nothing")
    ] = False,
    on_conflict: Annotated[
        ConflictPolicy,
        typer.Option("--on-conflict", help="For ids that exist and differ: skip or overwrite"),
    ] = ConflictPolicy.SKIP,
    new_ids: Annotated[
        bool,
        typer.Option(
            "--new-ids", help="Give records ids of this tenant's own (copy another's export)"
        ),
    ] = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    tenant: TenantOption = None,
    as_json: remote.JsonOption = False,
) -> None:
    """Import an export into the embedded store: validated first, idempotent by id."""
    from rich.progress import Progress

    with _input(file) as path, open_local(config, data_dir) as maia:
        view = _tenant_view(maia, tenant)
        # A bar only on a terminal: piped stderr keeps just the errors.
        bar_off = not err_console.is_terminal
        with Progress(console=err_console, transient=True, disable=bar_off) as bar:
            task = bar.add_task("validating", total=None)

            def progress(phase: str, done: int, total: int | None) -> None:
                bar.update(task, description=phase, completed=done, total=total)

            try:
                summary = view.import_records(
                    path,
                    on_conflict=on_conflict,
                    dry_run=dry_run,
                    new_ids=new_ids,
                    progress=progress,
                )
            except InvalidInput as exc:
                bar.stop()
                more = (exc.details or "").split("; ")[1:]
                fail(InvalidInput("\n  ".join([exc.message, *more]), field=exc.field))
            except MaiaError as exc:
                bar.stop()
                fail(exc)
        model = maia.engine.embedder.model_id
    if as_json:
        typer.echo(summary.model_dump_json(indent=2))
    else:
        _show_summary(summary, model)
    for problem in summary.problems:
        err_console.print(f"failed: {problem}", markup=False, highlight=False, soft_wrap=True)
    if summary.failed:
        raise typer.Exit(1)


@contextlib.contextmanager
def _input(name: str) -> Iterator[Path]:
    """The file to import; stdin is copied to a temporary file (it is read twice)."""
    if name != "-":
        yield Path(name)
        return
    with tempfile.TemporaryDirectory(prefix="maia-import-") as tmp:
        path = Path(tmp) / "stdin.jsonl"
        with path.open("wb") as handle:
            shutil.copyfileobj(sys.stdin.buffer, handle)
        yield path


def _show_summary(summary: ImportSummary, model: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Dry run: nothing was written" if summary.dry_run else "Imported")
    actions = ("created", "overwritten", "unchanged", "skipped", "failed")
    table.add_column("")
    for action in actions:
        table.add_column(action, justify="right")
    for kind in ("namespaces", "memories", "relations"):
        counts = getattr(summary, kind)
        table.add_row(kind, *(str(getattr(counts, a)) for a in actions))
    out = Console()
    out.print(table)
    verb = "would embed" if summary.dry_run else "embedded"
    out.print(
        f"{verb} {summary.embedded} memories with {model}; "
        f"{summary.reused_embeddings} embeddings taken from the file",
        highlight=False,
        markup=False,
    )


@app.command()
def backup(
    dest: Annotated[Path, typer.Argument(help="Backup file to write")],
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    force: ForceOption = False,
) -> None:
    """Copy the database to one file, consistently, even while a server is writing."""
    from maia.store.sqlite import DATABASE_FILE
    from maia.store.sqlite.backup import backup_database

    source = _settings(config, data_dir).data_dir / DATABASE_FILE
    try:
        backup_database(source, dest, overwrite=force)
    except MaiaError as exc:
        fail(exc)
    typer.echo(f"backed up {source} to {dest} ({dest.stat().st_size} bytes)")


@app.command()
def restore(
    source: Annotated[Path, typer.Argument(help="Backup file (from maia backup)")],
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    force: ForceOption = False,
) -> None:
    """Check a backup and make it the database of the data directory."""
    from maia.store.sqlite.backup import restore_database

    target_dir = _settings(config, data_dir).data_dir
    try:
        target = restore_database(source, target_dir, force=force)
    except MaiaError as exc:
        fail(exc)
    typer.echo(f"restored {source} to {target}")


def _settings(config: Path | None, data_dir: Path | None) -> Settings:
    from maia.settings import Settings

    try:
        return Settings.load(config, data_dir=data_dir)
    except MaiaError as exc:
        fail(exc)
