"""From settings to the OpenID Connect login: the configured providers and the secret that seals
a pending login's cookie."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from web.auth.oidc import AppleSigningKey, OidcProvider
from web.settings import OidcProviderSettings, Settings


def oidc_providers(settings: Settings) -> list[OidcProvider]:
    """Every provider of ``REELBOX_AUTH__OIDC__<NAME>__...``, named in lower case."""
    return [_provider(name.lower(), s) for name, s in sorted(settings.auth.oidc.items())]


def _provider(name: str, s: OidcProviderSettings) -> OidcProvider:
    secret = s.client_secret.get_secret_value() if s.client_secret else None
    if s.kind == "google":
        assert secret is not None  # the settings model requires it
        return OidcProvider.google(s.client_id, secret, name=name)
    if s.kind == "apple":
        assert s.apple_team_id and s.apple_key_id and s.apple_private_key_file
        key = AppleSigningKey(
            team_id=s.apple_team_id,
            key_id=s.apple_key_id,
            private_key=s.apple_private_key_file.read_text(),
        )
        return OidcProvider.apple(s.client_id, key, name=name)
    assert s.issuer is not None
    return OidcProvider.generic(
        name,
        s.issuer,
        s.client_id,
        secret,
        display_name=s.display_name,
        scopes=tuple(s.scopes),
    )


def server_secret(settings: Settings) -> bytes:
    """``auth.secret``, or on one machine a random secret made once and kept (mode 0600) in the
    data directory, so a restart does not break logins in flight."""
    if settings.auth.secret is not None:
        return settings.auth.secret.get_secret_value().encode()
    path = settings.data_dir / "secret.key"
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    value = secrets.token_bytes(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_private(path, value.hex())
    return value


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
