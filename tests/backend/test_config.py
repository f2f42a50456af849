from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from pydantic import BaseModel, SecretStr, ValidationError
from pydantic_settings import BaseSettings

from backend.config import (
    ENV_NAMES,
    AuthSettings,
    CryptoSettings,
    InsecureConfigurationError,
    QuerySettings,
    Settings,
    resolve_secrets,
)

ROOT = Path(__file__).resolve().parents[2]


def test_missing_secrets_are_generated_once_and_kept_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, auth=AuthSettings(), crypto=CryptoSettings())
    first = resolve_secrets(settings)
    second = resolve_secrets(settings)
    assert first.jwt_secret.get_secret_value() == second.jwt_secret.get_secret_value()
    assert first.encryption_key.get_secret_value() == second.encryption_key.get_secret_value()
    mode = stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode)
    assert mode == 0o600


def test_given_secrets_win(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        auth=AuthSettings(jwt_secret=SecretStr("j" * 40)),
        crypto=CryptoSettings(encryption_key=SecretStr("k" * 43 + "=")),
    )
    resolved = resolve_secrets(settings)
    assert resolved.jwt_secret.get_secret_value() == "j" * 40
    assert not (tmp_path / "secrets.json").exists()


@pytest.mark.parametrize("jwt", [None, "change-me", ""])
def test_production_refuses_placeholder_secrets(tmp_path: Path, jwt: str | None) -> None:
    settings = Settings(
        environment="production",
        data_dir=tmp_path,
        auth=AuthSettings(jwt_secret=SecretStr(jwt) if jwt is not None else None),
        crypto=CryptoSettings(encryption_key=SecretStr("k" * 43 + "=")),
    )
    with pytest.raises(InsecureConfigurationError, match="JWT_SECRET"):
        resolve_secrets(settings)


def test_flat_environment_names_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ALLOW_SIGNUP", "false")
    monkeypatch.setenv("SEXTANT_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("EMBEDDING_URL", "http://embedding:8001")
    monkeypatch.setenv("QUERY_MAX_ROWS", "7")
    monkeypatch.setenv("CONNECTION_ALLOW", "db.internal, 10.20.0.0/16,,/var/run/postgresql")
    monkeypatch.setenv("TRUSTED_PROXIES", "10.213.47.2")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = Settings.from_environment()
    assert settings.auth.allow_signup is False
    assert settings.data_dir == tmp_path / "d"
    assert settings.embedding.embedding_url == "http://embedding:8001"
    assert settings.query.query_max_rows == 7
    assert settings.connections.connection_allow == ["db.internal", "10.20.0.0/16", "/var/run/postgresql"]
    assert settings.proxy.trusted_proxies == ["10.213.47.2/32"]
    assert settings.database.database_url is None


def test_dotenv_is_read_and_the_environment_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "RATE_LOGIN_FAILURES=9\nQUERY_MAX_ROWS=11\nSEXTANT_ENV=production\nTRUSTED_PROXIES=10.0.0.0/8,::1\n"
    )
    monkeypatch.setenv("QUERY_MAX_ROWS", "7")
    monkeypatch.delenv("RATE_LOGIN_FAILURES", raising=False)
    monkeypatch.delenv("SEXTANT_ENV", raising=False)
    monkeypatch.delenv("TRUSTED_PROXIES", raising=False)
    settings = Settings.from_environment()
    assert settings.security.rate_login_failures == 9
    assert settings.query.query_max_rows == 7
    assert settings.environment == "production"
    assert settings.proxy.trusted_proxies == ["10.0.0.0/8", "::1/128"]
    # Another file, or none at all.
    assert Settings.from_environment(env_file=None).security.rate_login_failures == 5
    assert Settings.from_environment(env_file=tmp_path / "missing").environment == "development"


def test_from_environment_validates_and_ignores_other_variables() -> None:
    assert Settings.from_environment(env_file=None, environ={"PATH": "/bin", "HOME": "/root"}) == Settings()
    with pytest.raises(ValidationError):
        Settings.from_environment(env_file=None, environ={"QUERY_MAX_ROWS": "0"})
    with pytest.raises(ValidationError, match="TRUSTED_PROXIES"):
        Settings.from_environment(env_file=None, environ={"TRUSTED_PROXIES": "*"})


def test_environment_does_not_leak_into_direct_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QUERY_MAX_ROWS", "7")
    monkeypatch.setenv("SEXTANT_ENV", "production")
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    (tmp_path / ".env").write_text("RATE_LOGIN_FAILURES=9\nALLOW_SIGNUP=false\n")
    for settings in (Settings(), Settings(query=QuerySettings(query_max_rows=3)), Settings(data_dir=tmp_path)):
        assert settings.environment == "development"
        assert settings.log_level == "INFO"
        assert settings.security.rate_login_failures == 5
        assert settings.auth.allow_signup is True
    assert Settings().query.query_max_rows == 200
    assert Settings(query=QuerySettings(query_max_rows=3)).query.query_max_rows == 3
    assert QuerySettings().query_max_rows == 200
    # The groups are plain models: nothing of the environment, and typos are refused.
    assert not issubclass(QuerySettings, BaseSettings)
    with pytest.raises(ValidationError):
        QuerySettings(max_rows=3)  # type: ignore[call-arg]


def _documented_names() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, re.MULTILINE))


def test_every_env_name_maps_to_a_field() -> None:
    for env_name, (group, field) in ENV_NAMES.items():
        owner = Settings if group is None else Settings.model_fields[group].annotation
        assert isinstance(owner, type) and issubclass(owner, BaseModel)
        assert field in owner.model_fields, env_name
    # Every field, top-level or in a group, has exactly one name.
    targets: list[tuple[str | None, str]] = []
    for name, info in Settings.model_fields.items():
        model = info.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            targets += [(name, field) for field in model.model_fields]
        else:
            targets.append((None, name))
    assert sorted(targets, key=str) == sorted(ENV_NAMES.values(), key=str)
    # The names of .env.example keep working: each example value (commented ones too) reaches its field.
    text = (ROOT / ".env.example").read_text()
    lines = re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=(.*)$", text, re.MULTILINE)
    environ = {name: value for name, value in lines if name in ENV_NAMES and value}
    assert {
        "QUERY_MAX_ROWS",
        "RATE_LOGIN_FAILURES",
        "CONNECTION_ALLOW",
        "SEXTANT_ENV",
        "DATABASE_URL",
    } <= environ.keys()
    settings = Settings.from_environment(env_file=None, environ=environ)
    for env_name in environ:
        group, field = ENV_NAMES[env_name]
        target: BaseModel = settings if group is None else getattr(settings, group)
        assert field in target.model_fields_set, env_name
    assert settings.connections.connection_allow == [
        "db.internal",
        "10.20.0.0/16",
        "127.0.0.1:5432",
        "/var/run/postgresql",
    ]


def test_env_example_documents_every_setting_and_nothing_else() -> None:
    from embedding_service.config import EmbeddingServiceSettings

    names = set(ENV_NAMES)
    names |= {k.upper() for k in EmbeddingServiceSettings.model_fields}
    # Variables the compose file reads are settings of the deployment and documented too.
    for compose_file in ("docker-compose.yml", "docker-compose.gpu.yml"):
        names |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]+)", (ROOT / compose_file).read_text()))
    # Compose's own variables, which .env sets for `docker compose` itself.
    names |= {"COMPOSE_PROFILES", "COMPOSE_FILE"}
    assert _documented_names() == names
