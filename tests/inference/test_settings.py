"""Inference settings: TOML tables, JSON in the environment, the checks on names, and the
example of docs/configuration.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from maia import Settings
from maia.errors import InvalidInput
from maia.inference import InferenceRouter

ROOT = Path(__file__).resolve().parents[2]


def test_environment_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "MAIA_INFERENCE_PROVIDERS",
        '[{"name": "oai", "type": "openai", "api_key": "sk-secret", "models": ["gpt-*"]}]',
    )
    monkeypatch.setenv("MAIA_INFERENCE_ROUTES", '{"o1*": "oai"}')
    monkeypatch.setenv("MAIA_INFERENCE_DEFAULT_PROVIDER", "oai")
    settings = Settings.load()
    [config] = settings.inference_providers
    assert config.url == "https://api.openai.com/v1"
    assert config.api_key is not None
    assert config.api_key.get_secret_value() == "sk-secret"
    assert "sk-secret" not in repr(settings)
    assert settings.inference_routes == {"o1*": "oai"}


def test_toml_tables(tmp_path: Path) -> None:
    path = tmp_path / "maia.toml"
    path.write_text(
        'inference_default_provider = "local"\n'
        "[[inference_providers]]\n"
        'name = "local"\ntype = "ollama"\nmodels = ["llama*"]\n'
        "[[inference_providers]]\n"
        'name = "claude"\ntype = "anthropic"\nbase_url = "http://127.0.0.1:9/"\n'
        "[inference_routes]\n"
        '"claude-*" = "claude"\n"*" = "local"\n',
        encoding="utf-8",
    )
    settings = Settings.load(path)
    assert [p.name for p in settings.inference_providers] == ["local", "claude"]
    assert settings.inference_providers[0].url == "http://127.0.0.1:11434"
    assert settings.inference_providers[1].url == "http://127.0.0.1:9"
    assert list(settings.inference_routes) == ["claude-*", "*"], "order kept: first match wins"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"inference_routes": {"claude-*": "anthropic"}},
            "inference_routes: route 'claude-*' names unknown provider 'anthropic'"
            " (configured: mock)",
        ),
        (
            {"inference_default_provider": "ollama"},
            "inference_default_provider: names unknown provider 'ollama' (configured: mock)",
        ),
        (
            {
                "inference_providers": [
                    {"name": "a", "type": "openai"},
                    {"name": "a", "type": "ollama"},
                ]
            },
            "inference_providers: duplicate provider name 'a'",
        ),
        (
            {"inference_providers": [{"name": "mock", "type": "openai"}]},
            "the provider name 'mock' is reserved",
        ),
        ({"inference_providers": [{"name": "x", "type": "gemini"}]}, "inference_providers.0.type"),
        ({"inference_providers": [{"name": "x", "type": "openai", "modles": []}]}, "modles"),
        ({"inference_providers": "[not json"}, "must be an array of provider objects in JSON"),
        ({"inference_routes": "{not json"}, "must be an object of pattern to provider name"),
    ],
)
def test_mistakes_are_named(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        Settings.load(**overrides)


def test_a_configured_mock_may_replace_the_builtin() -> None:
    settings = Settings.load(inference_providers=[{"name": "mock", "type": "mock"}])
    router = InferenceRouter.from_settings(settings)
    assert router.providers == ["mock"]
    assert not router.enabled


def test_the_documented_example_loads(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    section = text.split("## Inference providers", 1)[1]
    example = re.search(r"```toml\n(.*?)```", section, flags=re.DOTALL)
    assert example is not None
    path = tmp_path / "maia.toml"
    path.write_text(example.group(1), encoding="utf-8")
    settings = Settings.load(path)
    names = [p.name for p in settings.inference_providers]
    assert names == ["openai", "openrouter", "ollama", "anthropic", "vllm"]
    router = InferenceRouter.from_settings(settings)
    assert router.enabled
    assert router.providers == [*names, "mock"]
