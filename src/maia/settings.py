"""The one typed settings object.

Sources, strongest first: explicit arguments (CLI flags), environment variables
(``MAIA_`` prefix, plus the original server's names such as ``MAIA_HTTP_PORT``),
then a TOML file named by ``--config`` or ``MAIA_CONFIG``, then the defaults.
"""

from __future__ import annotations

import json
import logging
import os
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import platformdirs
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from maia.errors import InvalidInput

log = logging.getLogger(__name__)

ContextPosition = Literal["system", "first_user", "before_last"]
CONTEXT_POSITIONS: tuple[str, ...] = get_args(ContextPosition)
_warned_positions: set[str] = set()

_config_file: ContextVar[Path | None] = ContextVar("maia_config_file", default=None)


def default_data_dir() -> Path:
    """The platform's per-user data folder (``~/.local/share/maia`` on Linux)."""
    return platformdirs.user_data_path("maia", appauthor=False)


def _env(*env_names: str) -> AliasChoices:
    """Accept each listed environment name. The field name itself (TOML keys, arguments)
    works through ``validate_by_name``; it is not listed, or a bare ``HOST`` variable in
    the environment would count."""
    return AliasChoices(*env_names)


# What a PostgreSQL URL starts with (``database_url``, ``Maia.open``, ``maia migrate``).
POSTGRES_PREFIXES = ("postgresql://", "postgres://")

# The provider ``proxy_backend`` defines.
BACKEND_PROVIDER = "backend"

# Where each inference provider type lives unless ``base_url`` says otherwise.
DEFAULT_BASE_URLS = {
    "openai": "https://api.openai.com/v1",
    "ollama": "http://127.0.0.1:11434",
    "anthropic": "https://api.anthropic.com",
    "mock": "",
}


class InferenceProviderConfig(BaseModel):
    """One upstream of the inference router (a ``[[inference_providers]]`` table)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    type: Literal["openai", "ollama", "anthropic", "mock"]
    base_url: str | None = None
    api_key: SecretStr | None = None
    # Model-name patterns this provider serves (``*`` matches any characters).
    models: list[str] = Field(default_factory=list)
    timeout: float = Field(60.0, gt=0)
    max_retries: int = Field(2, ge=0, le=10)
    rate_limit_rps: float = Field(0.0, ge=0)
    backoff_seconds: float = Field(0.5, ge=0)
    max_backoff_seconds: float = Field(30.0, ge=0)
    # Extra request headers (e.g. OpenRouter's HTTP-Referer, X-Title); never shown in repr.
    headers: dict[str, str] = Field(default_factory=dict, repr=False)
    # Send the proxy client's own Authorization header upstream (instead of api_key,
    # when the client sent one): each client pays with its own key.
    forward_authorization: bool = False

    @property
    def url(self) -> str:
        """``base_url``, or the type's usual address."""
        return (self.base_url or DEFAULT_BASE_URLS[self.type]).rstrip("/")


def _json_value(value: Any, what: str) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else None
        except ValueError as exc:
            raise PydanticCustomError(
                "json_invalid", "must be {what} in JSON: {error}", {"what": what, "error": str(exc)}
            ) from None
    return value


class Settings(BaseSettings):
    """Every knob of a MAIA server or embedded instance. See docs/configuration.md."""

    model_config = SettingsConfigDict(
        env_prefix="MAIA_",
        extra="forbid",
        validate_by_name=True,
        case_sensitive=False,
    )

    host: str = Field("127.0.0.1", validation_alias=_env("MAIA_HOST", "MAIA_SERVER_HOST"))
    http_port: int = Field(
        8080,
        ge=0,
        le=65535,
        validation_alias=_env("MAIA_HTTP_PORT", "MAIA_SERVER_HTTP_PORT"),
    )
    data_dir: Path = Field(
        default_factory=default_data_dir,
        validation_alias=_env("MAIA_DATA_DIR", "MAIA_STORAGE_DATA_DIR"),
    )
    default_namespace: str = Field(
        "default",
        min_length=1,
        validation_alias=_env("MAIA_DEFAULT_NAMESPACE", "MAIA_MEMORY_DEFAULT_NAMESPACE"),
    )
    token_budget: int = Field(
        4000,
        ge=100,
        validation_alias=_env("MAIA_TOKEN_BUDGET", "MAIA_MEMORY_DEFAULT_TOKEN_BUDGET"),
    )
    api_key: SecretStr | None = Field(
        None, validation_alias=_env("MAIA_API_KEY", "MAIA_SECURITY_API_KEY")
    )
    api_key_query_param: bool = Field(
        False,
        validation_alias=_env("MAIA_API_KEY_QUERY_PARAM", "MAIA_SECURITY_API_KEY_QUERY_PARAM"),
    )
    rate_limit_rps: float = Field(
        100.0,
        ge=0,
        validation_alias=_env("MAIA_RATE_LIMIT_RPS", "MAIA_SECURITY_RATE_LIMIT_RPS"),
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["*"],
        validation_alias=_env("MAIA_CORS_ORIGINS", "MAIA_SERVER_CORS_ORIGINS"),
    )
    insecure: bool = False
    # Require an API key even on loopback with no keys stored (`maia serve --auth`).
    auth: bool = Field(False, validation_alias=_env("MAIA_AUTH", "MAIA_SECURITY_AUTH_ENABLED"))
    # How long a node trusts its cached view of keys and tenants (revocations and
    # suspensions made on another node take effect within this time).
    auth_cache_seconds: float = Field(5.0, ge=0)
    # Per-key request limit (requests a minute, 0 = none), on top of the per-IP limit and
    # the tenant's requests_per_minute quota. Counters live in rate_limit_storage:
    # "auto" (the store's PostgreSQL database when database_url is set, else memory://),
    # "database", or a limits storage URI (maia.security.limits.storage_uri).
    key_rate_limit_per_minute: int = Field(0, ge=0)
    rate_limit_storage: str = Field("auto", min_length=1)
    audit_log: bool = True
    audit_path: Path | None = None
    audit_max_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    audit_backups: int = Field(5, ge=0, le=100)
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    max_content_chars: int = Field(65536, ge=1)
    max_request_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    sqlite_synchronous: Literal["full", "normal"] = "full"
    # PostgreSQL instead of the embedded SQLite store (docs/operations.md): any number of
    # MAIA nodes over one database. Secret: the URL usually holds a password.
    database_url: SecretStr | None = Field(None, validation_alias=_env("MAIA_DATABASE_URL"))
    postgres_pool_min: int = Field(1, ge=0, le=1000)
    postgres_pool_max: int = Field(10, ge=1, le=1000)
    # pgvector HNSW: candidates per search (recall vs latency), and the graph's build options.
    postgres_ef_search: int = Field(100, ge=1, le=1000)
    postgres_hnsw_m: int = Field(16, ge=2, le=100)
    postgres_hnsw_ef_construction: int = Field(128, ge=4, le=1000)
    retention_sweep_seconds: float = Field(3600.0, gt=0)
    embedding_provider: Literal["local", "openai", "hashing"] = Field(
        "local",
        validation_alias=_env("MAIA_EMBEDDING_PROVIDER", "MAIA_EMBEDDING_MODEL"),
    )
    embedding_threads: int = Field(1, ge=1, le=64)
    embedding_workers: int = Field(2, ge=1, le=64)
    # The local model with int8 activations (derived once, cached), or its float graph.
    embedding_quantized: bool = True
    model_cache_dir: Path | None = None  # None: the user's cache directory
    embedding_base_url: str = "https://api.openai.com/v1"
    embedding_model_name: str = "text-embedding-3-small"
    embedding_dim: int = Field(1536, ge=1, le=16384)
    embedding_api_key: SecretStr | None = Field(
        None,
        validation_alias=_env("MAIA_EMBEDDING_API_KEY", "MAIA_OPENAI_API_KEY"),
    )
    fusion_mode: Literal["weighted", "rrf"] = "weighted"
    search_candidates: int = Field(60, ge=10, le=5000)
    min_similarity: float = Field(0.15, ge=-1.0, le=1.0)
    search_feedback: float = Field(0.5, ge=0.0, le=10.0)
    vector_exact_limit: int = Field(20_000, ge=0)
    hnsw_connectivity: int = Field(16, ge=4, le=128)
    hnsw_expansion_add: int = Field(64, ge=8, le=4096)
    hnsw_expansion_search: int = Field(64, ge=8, le=4096)
    hnsw_dtype: Literal["f16", "f32", "i8"] = "f16"
    recency_half_life_days: float = Field(30.0, gt=0)
    token_encoding: Literal["cl100k_base"] = "cl100k_base"  # noqa: S105 - not a secret
    context_candidates: int = Field(50, ge=1, le=1000)
    # The OpenAI-compatible proxy (docs/proxy.md).
    # The original's one upstream (contract 6.1): an OpenAI-compatible base URL that
    # becomes the provider "backend", the default route, called with each client's own
    # Authorization header.
    proxy_backend: str | None = None
    proxy_auto_context: bool = True
    proxy_auto_remember: bool = True
    # Any other value works like "system" (contract 6.3), with a warning.
    proxy_context_position: ContextPosition = "system"
    proxy_token_budget: int = Field(4000, ge=1)
    proxy_min_score: float = Field(0.3, ge=0.0, le=1.0)
    # Each injected memory's date, so that the model can answer "when" (off: the
    # contract's plain block).
    proxy_context_dates: bool = False
    # What learns from proxied turns: the built-in rules, or a model through the router
    # (falling back to the rules when it gives no usable answer).
    proxy_extractor: Literal["rules", "llm"] = "rules"
    proxy_extractor_model: str | None = None
    # MCP ``forget`` by query: only hits scoring at least this are deleted, at most this many,
    # and each must share a word with the query or be at least this similar to it.
    mcp_forget_min_score: float = Field(0.5, ge=0.0, le=1.0)
    mcp_forget_min_similarity: float = Field(0.3, ge=-1.0, le=1.0)
    mcp_forget_max: int = Field(100, ge=1, le=1000)
    # OpenTelemetry traces of the REST API (the `tracing` extra); nothing is sent unless on.
    tracing: bool = False
    otlp_endpoint: str | None = None
    tracing_service_name: str = Field("maia", min_length=1)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["console", "json"] = "console"
    # Inference router (maia.inference): upstream providers, routing, cache, health.
    inference_providers: Annotated[list[InferenceProviderConfig], NoDecode] = Field(
        default_factory=list
    )
    inference_routes: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    inference_default_provider: str = Field("mock", min_length=1)
    inference_cache_enabled: bool = False
    inference_cache_ttl_seconds: float = Field(86400.0, gt=0)
    inference_cache_max_entries: int = Field(1000, ge=1)
    inference_health_enabled: bool = False
    inference_health_interval_seconds: float = Field(30.0, gt=0)
    inference_health_timeout_seconds: float = Field(10.0, gt=0)
    inference_unhealthy_threshold: int = Field(3, ge=1)
    inference_healthy_threshold: int = Field(2, ge=1)
    inference_max_tokens_default: int = Field(1024, ge=1)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("inference_providers", mode="before")
    @classmethod
    def _providers_json(cls, value: Any) -> Any:
        value = _json_value(value, "an array of provider objects")
        return [] if value is None else value

    @field_validator("inference_routes", mode="before")
    @classmethod
    def _routes_json(cls, value: Any) -> Any:
        value = _json_value(value, "an object of pattern to provider name")
        return {} if value is None else value

    @field_validator("inference_providers")
    @classmethod
    def _unique_providers(cls, value: list[InferenceProviderConfig]) -> Any:
        seen: set[str] = set()
        for provider in value:
            if provider.name in seen:
                raise PydanticCustomError(
                    "duplicate_provider",
                    "duplicate provider name {name}",
                    {"name": repr(provider.name)},
                )
            if provider.name == "mock" and provider.type != "mock":
                raise PydanticCustomError(
                    "reserved_provider",
                    "the provider name 'mock' is reserved for the built-in mock provider",
                )
            seen.add(provider.name)
        return value

    @field_validator("inference_routes", "inference_default_provider")
    @classmethod
    def _known_provider(cls, value: Any, info: ValidationInfo) -> Any:
        providers = info.data.get("inference_providers")
        if providers is None:  # the providers themselves were invalid, reported already
            return value
        known = {"mock", *(p.name for p in providers)}
        if info.data.get("proxy_backend"):
            known.add(BACKEND_PROVIDER)
        targets = value.items() if isinstance(value, dict) else [(None, value)]
        for pattern, target in targets:
            if target not in known:
                where = f"route {pattern!r} names" if pattern is not None else "names"
                raise PydanticCustomError(
                    "unknown_provider",
                    "{where} unknown provider {target} (configured: {known})",
                    {"where": where, "target": repr(target), "known": ", ".join(sorted(known))},
                )
        return value

    @field_validator(
        "log_level",
        "log_format",
        "sqlite_synchronous",
        "embedding_provider",
        "fusion_mode",
        mode="before",
    )
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("proxy_context_position", mode="before")
    @classmethod
    def _known_position(cls, value: Any) -> Any:
        text = value.strip().lower() if isinstance(value, str) else value
        if text in CONTEXT_POSITIONS:
            return text
        if repr(value) not in _warned_positions:  # settings load more than once
            _warned_positions.add(repr(value))
            log.warning(
                "proxy_context_position %r is not one of %s; using 'system'",
                value,
                ", ".join(CONTEXT_POSITIONS),
            )
        return "system"

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("model_cache_dir", mode="before")
    @classmethod
    def _cache_dir(cls, value: Any) -> Any:
        if isinstance(value, str | Path) and not str(value).strip():
            return None  # an empty variable: the default, not the working directory
        return Path(value).expanduser() if isinstance(value, str | Path) else value

    @field_validator("proxy_backend")
    @classmethod
    def _backend_url(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if not value:
            return None
        if not value.startswith(("http://", "https://")):
            raise PydanticCustomError(
                "proxy_backend",
                "must be an http:// or https:// URL (e.g. https://api.openai.com/v1)",
            )
        return value

    @model_validator(mode="after")
    def _backend_provider(self) -> Settings:
        """``proxy_backend`` as the provider "backend", the default route unless another
        default was chosen."""
        if self.proxy_backend is None:
            return self
        backend = InferenceProviderConfig(
            name=BACKEND_PROVIDER,
            type="openai",
            base_url=self.proxy_backend,
            forward_authorization=True,
        )
        configured = [p for p in self.inference_providers if p.name == BACKEND_PROVIDER]
        if configured and configured != [backend]:  # (settings loaded again are fine)
            raise PydanticCustomError(
                "proxy_backend",
                "proxy_backend defines the provider 'backend': remove the one configured",
            )
        if not configured:
            self.inference_providers = [*self.inference_providers, backend]
        if "inference_default_provider" not in self.model_fields_set:
            self.inference_default_provider = BACKEND_PROVIDER
        return self

    @model_validator(mode="after")
    def _extractor_model(self) -> Settings:
        if self.proxy_extractor == "llm" and not self.proxy_extractor_model:
            raise PydanticCustomError(
                "proxy_extractor",
                "proxy_extractor 'llm' needs proxy_extractor_model (a model the router knows)",
            )
        return self

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not value.get_secret_value().startswith(POSTGRES_PREFIXES):
            raise PydanticCustomError(
                "database_url", "a postgresql:// URL is expected (the password is not shown)"
            )
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = _config_file.get()
        if config_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)

    @classmethod
    def load(cls, config_file: Path | str | None = None, **overrides: Any) -> Settings:
        """Settings from arguments, environment and the TOML file, with clear errors."""
        path_text = config_file or os.environ.get("MAIA_CONFIG")
        path = Path(path_text).expanduser() if path_text else None
        if path is not None and not path.is_file():
            raise InvalidInput(f"invalid config: file not found: {path}", field="config")
        token = _config_file.set(path)
        try:
            return cls(**{k: v for k, v in overrides.items() if v is not None})
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
                for err in exc.errors()
            )
            raise InvalidInput(f"invalid settings: {problems}", field="settings") from exc
        finally:
            _config_file.reset(token)
