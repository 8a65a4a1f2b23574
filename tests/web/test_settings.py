"""Configuration: defaults for one machine, REELBOX_ environment variables, a TOML file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from web.settings import Settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("REELBOX_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


def test_defaults_suit_one_machine(tmp_path: Path) -> None:
    settings = Settings()
    assert settings.data_dir == tmp_path / "xdg" / "reelbox"
    assert settings.resolved_database_url == (
        f"sqlite+aiosqlite:///{tmp_path / 'xdg' / 'reelbox' / 'reelbox.db'}"
    )
    assert settings.redis_url is None
    assert settings.resolved_images_dir == settings.data_dir / "images"
    assert (settings.host, settings.port) == ("127.0.0.1", 8420)
    assert settings.scan.watch and settings.scan.processes == 0


def test_environment_and_nested_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REELBOX_DATABASE_URL", "postgresql+asyncpg://db/reelbox")
    monkeypatch.setenv("REELBOX_PORT", "9000")
    monkeypatch.setenv("REELBOX_MEDIA_DIRS", '["/srv/films", "/srv/shows"]')
    monkeypatch.setenv("REELBOX_S3__ENDPOINT_URL", "http://minio:9000")
    monkeypatch.setenv("REELBOX_S3__SECRET_ACCESS_KEY", "hush")
    monkeypatch.setenv("REELBOX_SCAN__INTERVAL_S", "60")
    monkeypatch.setenv("REELBOX_S3_CREDENTIALS__ARCHIVE__ENDPOINT_URL", "http://archive:9000")
    settings = Settings()
    assert settings.resolved_database_url == "postgresql+asyncpg://db/reelbox"
    assert settings.port == 9000
    assert settings.media_dirs == [Path("/srv/films"), Path("/srv/shows")]
    assert settings.s3.endpoint_url == "http://minio:9000"
    assert settings.s3.secret_access_key is not None
    assert "hush" not in repr(settings)  # secrets never reach logs
    assert settings.scan.interval_s == 60
    assert settings.s3_for("archive").endpoint_url == "http://archive:9000"
    assert settings.s3_for(None) is settings.s3
    with pytest.raises(KeyError, match="no S3 credentials named 'nope'"):
        settings.s3_for("nope")


def test_toml_file_and_environment_precedence(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "reelbox.toml"
    config.write_text(
        'port = 8500\nmedia_dirs = ["/media"]\n[scan]\nconcurrency = 3\nwatch = false\n'
    )
    monkeypatch.setenv("REELBOX_CONFIG", str(config))
    monkeypatch.setenv("REELBOX_PORT", "8600")  # the environment wins over the file
    settings = Settings()
    assert settings.port == 8600
    assert settings.media_dirs == [Path("/media")]
    assert (settings.scan.concurrency, settings.scan.watch) == (3, False)


def test_a_toml_file_in_the_data_directory_is_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "reelbox.toml").write_text('log_format = "json"\n')
    monkeypatch.setenv("REELBOX_DATA_DIR", str(data))
    assert Settings().log_format == "json"


def test_bad_settings_are_refused_with_their_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REELBOX_SCAN__CONCURRENCY", "0")
    with pytest.raises(ValidationError, match="concurrency"):
        Settings()
    monkeypatch.delenv("REELBOX_SCAN__CONCURRENCY")
    monkeypatch.setenv("REELBOX_LOG_FORMAT", "xml")
    with pytest.raises(ValidationError, match="log_format"):
        Settings()
    monkeypatch.delenv("REELBOX_LOG_FORMAT")
    monkeypatch.setenv("REELBOX_CONFIG", "/nonexistent/reelbox.toml")
    with pytest.raises(FileNotFoundError, match="REELBOX_CONFIG"):
        Settings()
