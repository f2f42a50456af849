from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from backend.config import AuthSettings, CryptoSettings, InsecureConfigurationError, Settings, resolve_secrets


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
    settings = Settings()
    assert settings.auth.allow_signup is False
    assert settings.data_dir == tmp_path / "d"
    assert settings.embedding.embedding_url == "http://embedding:8001"
    assert settings.database.database_url is None


def test_env_example_documents_every_setting_and_nothing_else() -> None:
    import re

    from embedding_service.config import EmbeddingServiceSettings

    names: set[str] = set()
    for field_name, info in Settings.model_fields.items():
        group = info.annotation
        if isinstance(group, type) and hasattr(group, "model_fields"):
            names |= {k.upper() for k in group.model_fields}
        else:
            names.add(str(info.validation_alias or field_name).upper())
    names |= {k.upper() for k in EmbeddingServiceSettings.model_fields}
    root = Path(__file__).resolve().parents[2]
    # Variables the compose file reads are settings of the deployment and documented too.
    names |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]+)", (root / "docker-compose.yml").read_text()))
    text = (root / ".env.example").read_text()
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, re.MULTILINE))
    assert documented == names
