"""One typed settings object, read once from the environment (documented in the README)."""

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

DEFAULT_DATABASE_URL = "sqlite:///./clone.db"
DEFAULT_MODEL = "claude-sonnet-4-6"
DEFAULT_SUPPORTED_MODELS = ("claude-sonnet-4-6", "claude-opus-4-1", "claude-haiku-4-5")
SECRET_KEY_FILE = ".clone-secret-key"
MIN_SECRET_KEY_LENGTH = 32


class SettingsError(ValueError):
    """The environment describes a configuration the gateway refuses to run with."""


def _bool(raw: str, name: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, not {raw!r}")


def _int(raw: str, name: str, low: int, high: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, not {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, not {value}")
    return value


def _float(raw: str, name: str, low: float, high: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, not {value}")
    return value


def _list(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str = ""
    env: str = "development"
    invite_only: bool = False
    access_ttl_min: int = 60
    refresh_ttl_days: int = 7
    cors_origins: tuple[str, ...] = ()
    anthropic_api_key: str | None = None
    anthropic_base_url: str | None = None
    default_model: str = DEFAULT_MODEL
    supported_models: tuple[str, ...] = DEFAULT_SUPPORTED_MODELS
    llm_timeout_s: float = 60.0
    llm_concurrency: int = 8
    # A busy worker ends a keep-alive connection with this chance per request (gateway/keepalive.py)
    keepalive_recycle_probability: float = 1 / 16
    elevenlabs_api_key: str | None = None
    elevenlabs_base_url: str | None = None
    public_url: str | None = None  # unset: webhook URLs follow the request's own base URL
    graphql_introspection: bool = True
    graphql_max_depth: int = 12
    graphql_max_cost: int = 50_000
    graphql_max_aliases: int = 30
    graphql_max_tokens: int = 50_000
    graphql_max_batch: int = 10
    graphql_apq_cache_size: int = 1000

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Read and check every variable; a bad value stops startup with a clear message."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name)
            return value if value not in (None, "") else None

        clone_env = (get("CLONE_ENV") or "development").lower()
        if clone_env not in ("development", "production"):
            raise SettingsError(f"CLONE_ENV must be development or production, not {clone_env!r}")
        database_url = get("DATABASE_URL") or DEFAULT_DATABASE_URL
        default_model = get("CLONE_DEFAULT_MODEL") or DEFAULT_MODEL
        supported = _list(get("CLONE_SUPPORTED_MODELS") or "") or DEFAULT_SUPPORTED_MODELS
        if default_model not in supported:
            supported = (default_model, *supported)
        introspection_raw = get("CLONE_GRAPHQL_INTROSPECTION")
        introspection = (
            _bool(introspection_raw, "CLONE_GRAPHQL_INTROSPECTION")
            if introspection_raw is not None
            else clone_env != "production"
        )
        return cls(
            database_url=database_url,
            secret_key=_secret_key(get("CLONE_SECRET_KEY"), clone_env, database_url),
            env=clone_env,
            invite_only=_bool(get("CLONE_INVITE_ONLY") or "false", "CLONE_INVITE_ONLY"),
            access_ttl_min=_int(
                get("CLONE_ACCESS_TTL_MIN") or "60", "CLONE_ACCESS_TTL_MIN", 1, 1440
            ),
            refresh_ttl_days=_int(
                get("CLONE_REFRESH_TTL_DAYS") or "7", "CLONE_REFRESH_TTL_DAYS", 1, 365
            ),
            cors_origins=_list(get("CLONE_CORS_ORIGINS") or ""),
            anthropic_api_key=get("ANTHROPIC_API_KEY"),
            anthropic_base_url=get("ANTHROPIC_BASE_URL"),
            default_model=default_model,
            supported_models=supported,
            llm_timeout_s=_float(
                get("CLONE_LLM_TIMEOUT_S") or "60", "CLONE_LLM_TIMEOUT_S", 0.1, 600
            ),
            llm_concurrency=_int(
                get("CLONE_LLM_CONCURRENCY") or "8", "CLONE_LLM_CONCURRENCY", 1, 64
            ),
            keepalive_recycle_probability=_float(
                get("CLONE_KEEPALIVE_RECYCLE") or str(1 / 16), "CLONE_KEEPALIVE_RECYCLE", 0, 1
            ),
            elevenlabs_api_key=get("ELEVENLABS_API_KEY"),
            elevenlabs_base_url=get("ELEVENLABS_BASE_URL"),
            public_url=_public_url(get("CLONE_PUBLIC_URL")),
            graphql_introspection=introspection,
            graphql_max_depth=_int(
                get("CLONE_GRAPHQL_MAX_DEPTH") or "12", "CLONE_GRAPHQL_MAX_DEPTH", 1, 1000
            ),
            graphql_max_cost=_int(
                get("CLONE_GRAPHQL_MAX_COST") or "50000", "CLONE_GRAPHQL_MAX_COST", 1, 10**12
            ),
            graphql_max_aliases=_int(
                get("CLONE_GRAPHQL_MAX_ALIASES") or "30", "CLONE_GRAPHQL_MAX_ALIASES", 0, 100_000
            ),
            graphql_max_tokens=_int(
                get("CLONE_GRAPHQL_MAX_TOKENS") or "50000", "CLONE_GRAPHQL_MAX_TOKENS", 100, 10**7
            ),
            graphql_max_batch=_int(
                get("CLONE_GRAPHQL_MAX_BATCH") or "10", "CLONE_GRAPHQL_MAX_BATCH", 1, 1000
            ),
            graphql_apq_cache_size=_int(
                get("CLONE_GRAPHQL_APQ_CACHE_SIZE") or "1000",
                "CLONE_GRAPHQL_APQ_CACHE_SIZE",
                0,
                1_000_000,
            ),
        )


def _public_url(raw: str | None) -> str | None:
    """The gateway's address as outside services reach it, without a trailing slash."""
    if raw is None:
        return None
    parsed = urlsplit(raw.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query:
        raise SettingsError(
            f"CLONE_PUBLIC_URL must be an http(s) URL such as https://clone.example.com, "
            f"not {raw!r}"
        )
    return raw.strip().rstrip("/")


def _secret_key(configured: str | None, clone_env: str, database_url: str) -> str:
    """Production needs an explicit key; development keeps a generated one beside the database.

    Keeping it in a file means tokens survive restarts and every worker process agrees on it.
    """
    if configured:
        if len(configured) < MIN_SECRET_KEY_LENGTH:
            raise SettingsError(
                f"CLONE_SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters"
            )
        return configured
    if clone_env == "production":
        raise SettingsError("CLONE_SECRET_KEY is required when CLONE_ENV=production")
    path = _secret_key_path(database_url)
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    staged = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    try:
        os.link(staged, path)  # atomic: the file appears complete or not at all
    except FileExistsError:  # another worker won the race: use its key
        key = path.read_text().strip()
    finally:
        staged.unlink()
    return key


def _secret_key_path(database_url: str) -> Path:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent / SECRET_KEY_FILE
    return Path.cwd() / SECRET_KEY_FILE
