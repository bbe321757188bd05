"""The documentation stays true to the code.

Every setting (with its environment variables and default), REST route, CLI command and
option must appear in ``docs/``; every route section in ``docs/api.md`` must name a live
route; every relative link (and its anchor) in ``README.md`` and ``docs/*.md`` must
resolve.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from pydantic import AliasChoices
from pydantic.fields import FieldInfo

from maia import Maia, Settings
from maia.api import create_app
from maia.cli import app as cli_app

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
MARKDOWN_FILES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]

# FastAPI's own pages, not MAIA routes.
FRAMEWORK_PATHS = {"/docs", "/docs/oauth2-redirect", "/openapi.json"}


def read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def mentions(text: str, word: str) -> bool:
    """``word`` occurs as a whole identifier (``MAIA_API_KEY`` is not in ``MAIA_API_KEY_X``)."""
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


# -- settings ----------------------------------------------------------------------------


def env_names(name: str, field: FieldInfo) -> list[str]:
    """The environment variables that set a field: its aliases, else ``MAIA_<NAME>``."""
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [c for c in alias.choices if isinstance(c, str) and c != name]
    if isinstance(alias, str):
        return [alias]
    return [f"MAIA_{name.upper()}"]


def doc_default(value: Any) -> str | None:
    """A default as configuration.md writes it (``true``, ``100``, ``["*"]``)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return json.dumps(value)
    return str(value)


def setting_row(text: str, name: str) -> str:
    rows = [line for line in text.splitlines() if line.startswith(f"| `{name}` |")]
    assert rows, f"configuration.md has no table row for setting {name!r}"
    return rows[0]


SETTINGS = sorted(Settings.model_fields.items())


@pytest.mark.parametrize(("name", "field"), SETTINGS, ids=[n for n, _ in SETTINGS])
def test_every_setting_and_env_var_is_documented(name: str, field: FieldInfo) -> None:
    text = read("configuration.md")
    row = setting_row(text, name)
    for env in env_names(name, field):
        assert mentions(row, env), f"{env} (setting {name!r}) missing from its row"


# Defaults that do not depend on the machine (``data_dir`` does; it has its own section).
DEFAULTS = [
    (name, doc_default(field.get_default(call_default_factory=True)))
    for name, field in SETTINGS
    if not isinstance(field.get_default(call_default_factory=True), Path)
]


@pytest.mark.parametrize(("name", "expected"), DEFAULTS, ids=[n for n, _ in DEFAULTS])
def test_every_setting_default_is_documented(name: str, expected: str | None) -> None:
    row = setting_row(read("configuration.md"), name)
    if expected is None:
        assert "unset" in row, f"{name!r} has no default; its row should say 'unset'"
    else:
        assert f"`{expected}`" in row, f"default {expected!r} of {name!r} missing from its row"


def test_env_var_helper_sees_legacy_names() -> None:
    # Guards the helper above: a field with aliases yields all of them, others MAIA_<NAME>.
    fields = Settings.model_fields
    assert env_names("http_port", fields["http_port"]) == [
        "MAIA_HTTP_PORT",
        "MAIA_SERVER_HTTP_PORT",
    ]
    assert env_names("log_format", fields["log_format"]) == ["MAIA_LOG_FORMAT"]


# -- routes ------------------------------------------------------------------------------


def flat_routes(routes: Iterable[Any]) -> Iterator[Any]:
    """Routes with included routers expanded (newer FastAPI nests them lazily)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is already flat
        yield from routes
        return
    yield from iter_route_contexts(list(routes))


def served_routes(maia: Maia) -> set[str]:
    """``"METHOD /path/{param}"`` for every MAIA route, converters (``:path``) removed."""
    found = set()
    for route in flat_routes(create_app(maia).routes):
        path = getattr(route, "path_format", None) or getattr(route, "path", None)
        methods = getattr(route, "methods", None) or ()
        if path is None or path in FRAMEWORK_PATHS:
            continue
        found.update(f"{method} {path}" for method in methods)
    return found


def test_route_listing_finds_the_app(maia: Maia) -> None:
    routes = served_routes(maia)
    assert "POST /v1/memories" in routes
    assert "GET /v1/namespaces/{ns}/memories" in routes
    assert not any(r.endswith(tuple(FRAMEWORK_PATHS)) for r in routes)


def route_headings() -> set[str]:
    """Routes that have a section in api.md: headings such as ``### `GET /health```."""
    text = read("api.md")
    return set(re.findall(r"^#{2,4} `([A-Z]+ /[^`]*)`\s*$", text, flags=re.MULTILINE))


def test_every_route_is_documented(maia: Maia) -> None:
    missing = sorted(served_routes(maia) - route_headings())
    assert not missing, f"routes without a section in docs/api.md: {missing}"


def test_every_documented_route_exists(maia: Maia) -> None:
    headings = route_headings()
    assert headings, "docs/api.md has no route headings"
    stale = sorted(headings - served_routes(maia))
    assert not stale, f"docs/api.md documents routes the app does not serve: {stale}"


# -- CLI ---------------------------------------------------------------------------------


def cli_commands() -> dict[str, Any]:
    """The commands of ``maia`` as the command-line parser sees them."""
    group = typer.main.get_command(cli_app)
    return dict(getattr(group, "commands", {}))


def test_cli_listing_finds_the_app() -> None:
    assert {"serve", "version"} <= set(cli_commands())


@pytest.mark.parametrize("name", sorted(cli_commands()))
def test_every_cli_command_and_option_is_documented(name: str) -> None:
    text = read("cli.md")
    assert f"`maia {name}`" in text, f"command 'maia {name}' missing from docs/cli.md"
    for param in cli_commands()[name].params:
        if param.param_type_name == "option":
            for opt in [*param.opts, *param.secondary_opts]:
                if opt != "--help":
                    assert mentions(text, opt), f"option {opt} of 'maia {name}' missing"


# -- links -------------------------------------------------------------------------------

_FENCE = re.compile(r"^(```|~~~).*?^\1", flags=re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def links(path: Path) -> list[str]:
    """Link targets outside code, without absolute URLs (``https:``, ``mailto:``)."""
    text = _INLINE_CODE.sub("", _FENCE.sub("", path.read_text(encoding="utf-8")))
    return [t for t in _LINK.findall(text) if not re.match(r"[a-z][a-z0-9+.-]*:", t)]


def anchors(path: Path) -> set[str]:
    """Heading anchors as GitHub renders them (lower case, punctuation dropped)."""
    text = _FENCE.sub("", path.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        seen[slug] = seen.get(slug, -1) + 1
        if seen[slug]:
            seen[f"{slug}-{seen[slug]}"] = 0
    return set(seen)


def test_docs_exist() -> None:
    names = {p.name for p in DOCS.glob("*.md")}
    assert {"api.md", "configuration.md", "architecture.md", "cli.md"} <= names


def resolves(source: Path, target: str) -> bool:
    file_part, _, anchor = target.partition("#")
    linked = (source.parent / file_part) if file_part else source
    if not linked.exists():
        return False
    return not anchor or linked.suffix != ".md" or anchor in anchors(linked)


def test_anchor_helper_matches_github() -> None:
    found = anchors(DOCS / "api.md")
    assert "request-handling-ids-headers-cors-auth-limits" in found
    assert "get-v1namespacesnsmemories" in found


@pytest.mark.parametrize("path", MARKDOWN_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path: Path) -> None:
    broken = [target for target in links(path) if not resolves(path, target)]
    assert not broken, f"{path.relative_to(ROOT)} has broken links: {broken}"


def test_default_scoring_weights_are_documented() -> None:
    from maia.retrieval.fusion import DEFAULT_WEIGHTS

    text = (DOCS / "configuration.md").read_text()
    line = next(row for row in text.splitlines() if row.startswith("| `custom_scoring` |"))
    documented = {name: float(value) for name, value in re.findall(r"`(\w+)` (\d+\.\d+)", line)}
    assert documented == dict(DEFAULT_WEIGHTS)
