"""Settings come from the environment, with the documented defaults and checks."""

import pytest

from gateway.settings import SECRET_KEY_FILE, Settings, SettingsError


def test_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite:///./clone.db"
    assert settings.env == "development"
    assert settings.invite_only is False
    assert (settings.access_ttl_min, settings.refresh_ttl_days) == (60, 7)
    assert settings.default_model == "claude-sonnet-4-6"
    assert settings.default_model in settings.supported_models
    assert (settings.llm_timeout_s, settings.llm_concurrency) == (60.0, 8)
    assert settings.keepalive_recycle_probability == 1 / 16
    assert settings.graphql_introspection is True
    assert settings.cors_origins == ()
    assert len(settings.secret_key) >= 32


def test_development_key_is_kept_beside_the_sqlite_database(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/data/clone.db"}
    first = Settings.from_env(env)
    second = Settings.from_env(env)
    assert first.secret_key == second.secret_key
    key_file = tmp_path / "data" / SECRET_KEY_FILE
    assert key_file.read_text() == first.secret_key
    assert key_file.stat().st_mode & 0o077 == 0


def test_production_refuses_to_start_without_a_secret_key():
    with pytest.raises(SettingsError, match="CLONE_SECRET_KEY"):
        Settings.from_env({"CLONE_ENV": "production"})
    settings = Settings.from_env({"CLONE_ENV": "production", "CLONE_SECRET_KEY": "s" * 40})
    assert settings.is_production
    assert settings.graphql_introspection is False  # off by default in production


def test_values_are_parsed():
    settings = Settings.from_env(
        {
            "CLONE_SECRET_KEY": "s" * 40,
            "CLONE_INVITE_ONLY": "true",
            "CLONE_ACCESS_TTL_MIN": "15",
            "CLONE_REFRESH_TTL_DAYS": "30",
            "CLONE_CORS_ORIGINS": "https://a.example, https://b.example",
            "CLONE_DEFAULT_MODEL": "claude-x",
            "CLONE_SUPPORTED_MODELS": "claude-y,claude-z",
            "CLONE_LLM_TIMEOUT_S": "2.5",
            "CLONE_LLM_CONCURRENCY": "3",
            "CLONE_KEEPALIVE_RECYCLE": "0",
            "CLONE_GRAPHQL_INTROSPECTION": "false",
            "ANTHROPIC_API_KEY": "sk-test",
            "ANTHROPIC_BASE_URL": "http://127.0.0.1:9",
            "ELEVENLABS_API_KEY": "el-test",
            "ELEVENLABS_BASE_URL": "http://127.0.0.1:10",
            "DATABASE_URL": "postgresql://u@h/db",
        }
    )
    assert settings.invite_only is True
    assert (settings.access_ttl_min, settings.refresh_ttl_days) == (15, 30)
    assert settings.cors_origins == ("https://a.example", "https://b.example")
    assert settings.default_model == "claude-x"
    assert settings.supported_models == ("claude-x", "claude-y", "claude-z")
    assert (settings.llm_timeout_s, settings.llm_concurrency) == (2.5, 3)
    assert settings.keepalive_recycle_probability == 0
    assert settings.graphql_introspection is False
    assert settings.anthropic_api_key == "sk-test"
    assert settings.anthropic_base_url == "http://127.0.0.1:9"
    assert settings.elevenlabs_api_key == "el-test"
    assert settings.elevenlabs_base_url == "http://127.0.0.1:10"
    assert settings.database_url == "postgresql://u@h/db"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CLONE_ENV", "staging"),
        ("CLONE_INVITE_ONLY", "maybe"),
        ("CLONE_ACCESS_TTL_MIN", "0"),
        ("CLONE_ACCESS_TTL_MIN", "ten"),
        ("CLONE_LLM_CONCURRENCY", "0"),
        ("CLONE_LLM_TIMEOUT_S", "soon"),
        ("CLONE_KEEPALIVE_RECYCLE", "1.5"),
        ("CLONE_KEEPALIVE_RECYCLE", "nan"),
        ("CLONE_SECRET_KEY", "short"),
    ],
)
def test_bad_values_are_refused(name, value, tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/c.db", name: value}
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(env)
