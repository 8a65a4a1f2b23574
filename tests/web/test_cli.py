"""The ``reelbox`` command line, run as a user runs it: a real process, a real catalog."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ingest.catalog import migrate
from ingest.demo import synthesize_clip
from tests.fixtures.services import free_port


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REELBOX_")}
    env.update(REELBOX_DATA_DIR=str(tmp_path / "data"), REELBOX_LOG_FORMAT="json", **extra)
    return env


def reelbox(
    tmp_path: Path, *args: str, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "web", *args],
        env=_env(tmp_path, **env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_db_upgrade_and_refusal_of_a_newer_database(tmp_path: Path) -> None:
    done = reelbox(tmp_path, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    head = migrate.head_revision()
    assert f"catalog at revision {head}" in done.stdout
    assert f"{head} (code head {head})" in reelbox(tmp_path, "db", "current").stdout
    with sqlite3.connect(tmp_path / "data" / "reelbox.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    refused = reelbox(tmp_path, "serve", "--port", str(free_port()))
    assert refused.returncode == 3
    assert "newer version" in refused.stderr and "0099" in refused.stderr


def test_user_add(tmp_path: Path) -> None:
    done = reelbox(
        tmp_path,
        "user",
        "add",
        "alice",
        "--role",
        "admin",
        "--password-stdin",
        stdin="correct horse battery\n",
    )
    assert done.returncode == 0, done.stderr
    assert "created user alice" in done.stdout
    again = reelbox(tmp_path, "user", "add", "alice", "--password-stdin", stdin="another pass\n")
    assert again.returncode == 2 and "exists already" in again.stderr
    short = reelbox(tmp_path, "user", "add", "bob", "--password-stdin", stdin="short\n")
    assert short.returncode == 2 and "at least 8" in short.stderr
    with sqlite3.connect(tmp_path / "data" / "reelbox.db") as conn:
        [(hashed,)] = conn.execute("SELECT password_hash FROM users WHERE username = 'alice'")
    assert hashed.startswith("$argon2id$")


def test_scan_prints_a_summary_and_json(tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    synthesize_clip(media / "Clip One (2020).mp4", seconds=1.0, width=160, height=120)
    (media / "broken.mkv").write_text("not a film")
    done = reelbox(tmp_path, "scan", str(media), "--json")
    assert done.returncode == 0, done.stderr
    [stats] = json.loads(done.stdout)
    assert (stats["discovered"], stats["probed"], stats["failed"]) == (2, 2, 1)
    assert stats["by_status"] == {"ok": 1, "not_media": 1}
    listed = reelbox(tmp_path, "library", "list")
    assert "media\tmixed" in listed.stdout
    again = reelbox(tmp_path, "scan", "--library", "media")
    assert again.returncode == 0, again.stderr
    assert "unchanged" in again.stderr and "files/s" in again.stderr
    missing = reelbox(tmp_path, "scan", "--library", "nope")
    assert missing.returncode == 2 and "no library named nope" in missing.stderr


def test_bad_configuration_is_reported(tmp_path: Path) -> None:
    done = reelbox(tmp_path, "db", "current", REELBOX_PORT="not a port")
    assert done.returncode == 2
    assert "invalid configuration" in done.stderr and "port" in done.stderr


@pytest.mark.slow
def test_serve_generates_scans_and_serves_the_demo_library(tmp_path: Path) -> None:
    admin = reelbox(
        tmp_path,
        "user",
        "add",
        "root",
        "--role",
        "admin",
        "--password-stdin",
        stdin="correct horse battery\n",
    )
    assert admin.returncode == 0, admin.stderr
    login = httpx.BasicAuth("root", "correct horse battery")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "web", "serve", "--port", str(port)],
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        scans: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                scans = httpx.get(
                    f"http://127.0.0.1:{port}/api/scans", auth=login, timeout=1
                ).json()["scans"]
            except httpx.TransportError:
                time.sleep(0.5)
                continue
            if len(scans) == 4 and all(s["phase"] == "done" for s in scans):
                break
            time.sleep(0.5)
        assert health.status_code == 200
        assert len(scans) == 4, scans
        assert sum(int(s["discovered"]) for s in scans) >= 10  # type: ignore[call-overload]
        assert all(s["failed"] == 0 for s in scans), scans
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        assert set(ready.json()["checks"]) == {"database", "images", "state"}
        anonymous = httpx.get(f"http://127.0.0.1:{port}/api/scans", timeout=5)
        assert anonymous.status_code == 401
        providers = httpx.get(f"http://127.0.0.1:{port}/api/auth/oidc/providers", timeout=5)
        assert providers.status_code == 200 and providers.json()["providers"] == []
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert metrics.status_code == 200 and "reelbox_http_requests" in metrics.text
        # HTTP/2 too (cleartext, prior knowledge), on the same port
        with httpx.Client(http1=False, http2=True, auth=login, timeout=5) as h2:
            answer = h2.get(f"http://127.0.0.1:{port}/api/scans")
            assert (answer.http_version, answer.status_code) == ("HTTP/2", 200)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "serve.stopped" in output
