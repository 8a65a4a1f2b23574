"""OpenID Connect providers from settings (environment variables, as deployments set them) and
the server secret that seals pending logins."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from web.auth.configure import oidc_providers, server_secret
from web.settings import Settings


def test_providers_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REELBOX_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("REELBOX_AUTH__OIDC__KEYCLOAK__ISSUER", "https://sso.example/realms/home")
    monkeypatch.setenv("REELBOX_AUTH__OIDC__KEYCLOAK__CLIENT_ID", "reelbox")
    monkeypatch.setenv("REELBOX_AUTH__OIDC__KEYCLOAK__CLIENT_SECRET", "s3cret")
    monkeypatch.setenv("REELBOX_AUTH__OIDC__KEYCLOAK__DISPLAY_NAME", "Home SSO")
    monkeypatch.setenv("REELBOX_AUTH__OIDC__GOOGLE__KIND", "google")
    monkeypatch.setenv("REELBOX_AUTH__OIDC__GOOGLE__CLIENT_ID", "id.apps.googleusercontent.com")
    monkeypatch.setenv("REELBOX_AUTH__OIDC__GOOGLE__CLIENT_SECRET", "g-secret")
    providers = {p.name: p for p in oidc_providers(Settings())}
    assert set(providers) == {"google", "keycloak"}
    keycloak = providers["keycloak"]
    assert keycloak.issuer == "https://sso.example/realms/home"
    assert (keycloak.client_id, keycloak.client_secret) == ("reelbox", "s3cret")
    assert keycloak.display_name == "Home SSO"
    assert providers["google"].issuer == "https://accounts.google.com"


@pytest.mark.parametrize(
    ("provider", "problem"),
    [
        ({"client_id": "x"}, "needs an issuer"),
        ({"kind": "google", "client_id": "x"}, "client secret"),
        ({"kind": "apple", "client_id": "x"}, "apple_team_id"),
        ({"issuer": "https://sso.example", "client_id": "x", "colour": "red"}, "colour"),
    ],
)
def test_incomplete_providers_are_refused_with_the_reason(
    provider: dict[str, str], problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem):
        Settings.model_validate({"auth": {"oidc": {"sso": provider}}})


def test_the_server_secret_is_made_once_and_kept_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = server_secret(settings)
    assert len(first) == 32 and server_secret(settings) == first
    assert stat.S_IMODE((tmp_path / "secret.key").stat().st_mode) == 0o600
    configured = Settings.model_validate({"data_dir": tmp_path, "auth": {"secret": "cluster-wide"}})
    assert server_secret(configured) == b"cluster-wide"
