"""Reelbox configuration: environment variables prefixed ``REELBOX_`` and an optional TOML file.

Precedence, highest first: init arguments, environment (``REELBOX_DATABASE_URL``, nested fields with
``__`` as in ``REELBOX_S3__ENDPOINT_URL``), the TOML file named by ``REELBOX_CONFIG`` (or
``reelbox.toml`` in the data directory), then the defaults below, which suit one machine: SQLite in
the data directory, in-process cache and bus, images on local disk.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "reelbox"


class S3Settings(BaseModel):
    """The default S3 endpoint and credentials; sources may name others in ``s3_credentials``."""

    endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    read_block_size: int = Field(default=1 << 20, ge=64 << 10)


class ScanSettings(BaseModel):
    concurrency: int = Field(default=max(2, (os.cpu_count() or 1) * 2), ge=1, le=256)
    # Worker processes that join bulk scans of local folders: an FFmpeg crash on a hostile file
    # then costs that file, not the server. Each starts cold (~1 s of imports), which a scan of a
    # few hundred files does not win back on two cores, so it is off by default.
    processes: int = Field(default=0, ge=0, le=64)
    batch_size: int = Field(default=64, ge=1, le=5000)
    interval_s: float = Field(default=900.0, ge=10.0)
    watch: bool = True
    watch_debounce_ms: int = Field(default=1500, ge=50)
    images: bool = True


class StreamSettings(BaseModel):
    # Concurrent encodes; more are refused fast (429 + Retry-After) once as many again wait.
    encoders: int = Field(default=max(1, (os.cpu_count() or 1) // 2), ge=1, le=64)
    cache_bytes: int = Field(default=512 << 20, ge=1 << 20)
    # Encodes one user may have in flight at once (0: no cap beyond the server's).
    max_encodes_per_user: int = Field(default=0, ge=0, le=64)


class OidcProviderSettings(BaseModel):
    """One OpenID Connect provider, named by its key in ``auth.oidc``:
    ``REELBOX_AUTH__OIDC__KEYCLOAK__ISSUER=https://sso.example/realms/home``,
    ``..._CLIENT_ID``, ``..._CLIENT_SECRET``; ``KIND=google`` or ``apple`` for the presets."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["generic", "google", "apple"] = "generic"
    issuer: str | None = None  # required for generic providers
    client_id: str
    client_secret: SecretStr | None = None
    display_name: str | None = None
    scopes: list[str] = Field(default_factory=lambda: ["openid", "email", "profile"])
    apple_team_id: str | None = None
    apple_key_id: str | None = None
    apple_private_key_file: Path | None = None  # the .p8 file

    @model_validator(mode="after")
    def _complete(self) -> OidcProviderSettings:
        if self.kind == "generic" and not self.issuer:
            raise ValueError("a generic OIDC provider needs an issuer URL")
        if self.kind == "google" and self.client_secret is None:
            raise ValueError("Google needs a client secret")
        if self.kind == "apple" and not (
            self.apple_team_id and self.apple_key_id and self.apple_private_key_file
        ):
            raise ValueError("Apple needs apple_team_id, apple_key_id and apple_private_key_file")
        return self


class AuthSettings(BaseModel):
    """Logins, tokens and their lifetimes (``REELBOX_AUTH__ACCESS_TTL_S`` and so on)."""

    access_ttl_s: int = Field(default=15 * 60, ge=30, le=24 * 3600)
    refresh_ttl_s: int = Field(default=30 * 86400, ge=300)
    # Stream tokens ride in segment URLs: they must outlive one playback, pauses included.
    stream_ttl_s: int = Field(default=6 * 3600, ge=60, le=7 * 86400)
    # A new signing key this often; the old one verifies until its last token expires.
    key_rotation_s: int = Field(default=7 * 86400, ge=3600)
    leeway_s: int = Field(default=30, ge=0, le=300)
    issuer: str = "reelbox"
    audience: str = "reelbox"
    basic: bool = True  # accept HTTP Basic (username and password) on the API, for scripts
    # GCRA: this many attempts at once, then one more every window / attempts.
    login_attempts_per_account: int = Field(default=10, ge=1)
    login_attempts_per_address: int = Field(default=30, ge=1)
    login_window_s: float = Field(default=900.0, gt=0)
    invite_ttl_s: int = Field(default=7 * 86400, ge=60)
    # argon2id parameters; hashes made with others are upgraded at the next login.
    password_time_cost: int = Field(default=3, ge=1, le=20)
    password_memory_kib: int = Field(default=64 * 1024, ge=8 * 1024, le=4 * 1024 * 1024)
    password_parallelism: int = Field(default=4, ge=1, le=64)
    # OpenID Connect providers by name (lower case: the name is part of the login URLs).
    oidc: dict[str, OidcProviderSettings] = Field(default_factory=dict)
    # The role of a user an OIDC login creates; they see no library until an admin grants one.
    oidc_role: Literal["member", "child"] = "member"
    # Where this server is reached (behind a proxy): the OIDC callback URL is built from it.
    public_url: str | None = None
    # Where a login may send the browser back to (client apps): URL prefixes.
    oidc_redirects: list[str] = Field(default_factory=list)
    # Seals the pending OIDC login cookie; every node of a cluster needs the same one. Unset on
    # one machine: a random secret kept in the data directory.
    secret: SecretStr | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="REELBOX_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str | None = None
    redis_url: str | None = None
    # /metrics for Prometheus: open on one machine; with a token, for that Bearer token only.
    metrics_token: SecretStr | None = None
    # The web client's build to serve at /; unset: client/dist beside the code, when built.
    webapp_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8420, ge=0, le=65535)
    media_dirs: list[Path] = Field(default_factory=list)
    demo_library: bool = True
    # Apply pending migrations when serving (under a lock on PostgreSQL). A database migrated by
    # a newer Reelbox is refused either way.
    auto_migrate: bool = True
    images_dir: Path | None = None
    images_s3_bucket: str | None = None
    s3: S3Settings = Field(default_factory=S3Settings)
    s3_credentials: dict[str, S3Settings] = Field(default_factory=dict)
    scan: ScanSettings = Field(default_factory=ScanSettings)
    stream: StreamSettings = Field(default_factory=StreamSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["console", "json"] = "console"

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
        toml = _config_file()
        if toml is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml))
        return tuple(sources)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'reelbox.db'}"

    @property
    def resolved_images_dir(self) -> Path:
        return self.images_dir or self.data_dir / "images"

    def s3_for(self, credentials_ref: str | None) -> S3Settings:
        """The S3 settings a source names; the default endpoint when it names none."""
        if credentials_ref is None:
            return self.s3
        try:
            return self.s3_credentials[credentials_ref]
        except KeyError:
            raise KeyError(
                f"no S3 credentials named {credentials_ref!r}; "
                f"set REELBOX_S3_CREDENTIALS__{credentials_ref.upper()}__ACCESS_KEY_ID and friends"
            ) from None


def _config_file() -> Path | None:
    named = os.environ.get("REELBOX_CONFIG")
    if named:
        path = Path(named)
        if not path.is_file():
            raise FileNotFoundError(f"REELBOX_CONFIG names {path}, which is not a file")
        return path
    data_dir = Path(os.environ.get("REELBOX_DATA_DIR") or _default_data_dir())
    candidate = data_dir / "reelbox.toml"
    return candidate if candidate.is_file() else None
