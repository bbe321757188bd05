"""Settings: the original server's environment names, TOML file, precedence, errors."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pytest

from maia import InvalidInput, Settings
from maia.settings import default_data_dir


@pytest.mark.parametrize(
    ("variable", "field", "raw", "expected"),
    [
        ("MAIA_HTTP_PORT", "http_port", "9001", 9001),
        ("MAIA_SERVER_HTTP_PORT", "http_port", "9002", 9002),
        ("MAIA_DATA_DIR", "data_dir", "/tmp/a", Path("/tmp/a")),
        ("MAIA_STORAGE_DATA_DIR", "data_dir", "/tmp/b", Path("/tmp/b")),
        ("MAIA_DEFAULT_NAMESPACE", "default_namespace", "main", "main"),
        ("MAIA_TOKEN_BUDGET", "token_budget", "2500", 2500),
        ("MAIA_SECURITY_RATE_LIMIT_RPS", "rate_limit_rps", "5", 5.0),
        ("MAIA_RATE_LIMIT_RPS", "rate_limit_rps", "0", 0.0),
        (
            "MAIA_CORS_ORIGINS",
            "cors_origins",
            "https://a.test, https://b.test",
            ["https://a.test", "https://b.test"],
        ),
        ("MAIA_LOG_FORMAT", "log_format", "JSON", "json"),
        ("MAIA_SQLITE_SYNCHRONOUS", "sqlite_synchronous", "normal", "normal"),
    ],
)
def test_environment_names(
    monkeypatch: pytest.MonkeyPatch, variable: str, field: str, raw: str, expected: object
) -> None:
    monkeypatch.delenv("MAIA_DATA_DIR")  # set by the test fixtures; would win over aliases
    monkeypatch.setenv(variable, raw)
    assert getattr(Settings.load(), field) == expected


@pytest.mark.parametrize("variable", ["MAIA_API_KEY", "MAIA_SECURITY_API_KEY"])
def test_api_key_is_secret(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, "s3cret")
    settings = Settings.load()
    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)


def test_precedence_arguments_env_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "maia.toml"
    config.write_text('http_port = 7000\ndefault_namespace = "from-file"\ntoken_budget = 1234\n')
    monkeypatch.setenv("MAIA_HTTP_PORT", "7001")
    monkeypatch.setenv("MAIA_DEFAULT_NAMESPACE", "from-env")
    settings = Settings.load(config, default_namespace="from-args")
    assert settings.default_namespace == "from-args"
    assert settings.http_port == 7001
    assert settings.token_budget == 1234
    monkeypatch.setenv("MAIA_CONFIG", str(config))
    assert Settings.load().token_budget == 1234


def test_errors_name_the_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="file not found"):
        Settings.load(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("no_such_setting = 1\n")
    with pytest.raises(InvalidInput, match="no_such_setting"):
        Settings.load(bad)
    monkeypatch.setenv("MAIA_TOKEN_BUDGET", "10")
    with pytest.raises(InvalidInput, match="MAIA_TOKEN_BUDGET"):
        Settings.load()


def test_default_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAIA_DATA_DIR")
    assert Settings.load().data_dir == default_data_dir()
    assert default_data_dir().name == "maia"


def test_unprefixed_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("HOST", "10.0.0.1"), ("API_KEY", "leak"), ("HTTP_PORT", "1")):
        monkeypatch.setenv(name, value)
    settings = Settings.load()
    assert (settings.host, settings.api_key, settings.http_port) == ("127.0.0.1", None, 8080)


def test_an_unknown_context_position_works_like_system(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    unknown = f"after_system_{uuid.uuid4().hex[:6]}"  # warned about once per process
    monkeypatch.setenv("MAIA_PROXY_CONTEXT_POSITION", unknown)
    with caplog.at_level(logging.WARNING, logger="maia.settings"):
        assert Settings.load().proxy_context_position == "system"
        assert Settings.load().proxy_context_position == "system"
    warnings = [r for r in caplog.records if unknown in r.getMessage()]
    assert len(warnings) == 1
    assert "using 'system'" in warnings[0].getMessage()
    monkeypatch.setenv("MAIA_PROXY_CONTEXT_POSITION", " Before_Last ")
    assert Settings.load().proxy_context_position == "before_last"
