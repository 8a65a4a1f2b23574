"""docker-compose.yml, parsed by a compose-spec implementation after Compose's own variable
interpolation (``${NAME:-default}`` with the defaults, as with no .env file): the services a
cluster node needs, wired to each other and to settings the server really has."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from compose_spec import PyCompose

from tests.deploy.contract import REPO, reelbox_names, setting_path, settings_from_env
from tests.deploy.image import stages

COMPOSE = REPO / "docker-compose.yml"
VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*):-([^}]*)\}")


def interpolate(text: str) -> str:
    """Compose's interpolation for the one form the file uses; any other ``$`` form (``$NAME``,
    ``${NAME}`` without a default, ``${NAME:?}``) is refused rather than guessed. ``$$`` is a
    literal ``$`` for the container's shell."""
    resolved = VARIABLE.sub(lambda m: m.group(2), text)
    leftover = re.sub(r"\$\$", "", resolved)
    assert "$" not in leftover, "only ${NAME:-default} is interpolated here"
    return resolved.replace("$$", "$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    text = interpolate(COMPOSE.read_text())
    PyCompose.from_yaml(text).validate()  # the spec's types and keys
    document: dict[str, Any] = yaml.safe_load(text)
    return document


def _service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    service: dict[str, Any] = compose["services"][name]
    return service


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def test_interpolation_refuses_forms_it_does_not_implement() -> None:
    assert interpolate("a: ${X:-1} $$HOME") == "a: 1 $HOME"
    for text in ["a: ${X}", "a: $X", "a: ${X:?required}"]:
        with pytest.raises(AssertionError):
            interpolate(text)


def test_one_machine_runs_reelbox_postgres_redis_and_minio(compose: dict[str, Any]) -> None:
    images = {name: s.get("image", "") for name, s in compose["services"].items()}
    assert images["postgres"].startswith("postgres:")
    assert images["redis"].startswith("redis:")
    assert images["minio"].startswith("minio/minio")
    assert any(i.startswith("minio/mc") for i in images.values()), "an init container: buckets"
    reelbox = _service(compose, "reelbox")
    assert reelbox["build"] in (".", {"context": "."}) and (REPO / "Dockerfile").is_file()


def test_reelbox_settings_are_real_and_load(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _env(_service(compose, "reelbox"))
    names = reelbox_names(env)
    assert {"REELBOX_DATABASE_URL", "REELBOX_REDIS_URL", "REELBOX_S3__ENDPOINT_URL"} <= set(names)
    assert names == sorted(env), "every variable is a REELBOX_* setting"
    for name in names:
        setting_path(name)
    settings = settings_from_env(env, monkeypatch)
    assert settings.s3.secret_access_key is not None


def test_database_url_names_the_postgres_service_and_its_credentials(
    compose: dict[str, Any],
) -> None:
    url = urlsplit(_env(_service(compose, "reelbox"))["REELBOX_DATABASE_URL"])
    # The asyncpg driver is the one installed; plain postgresql:// would ask for psycopg2.
    assert url.scheme == "postgresql+asyncpg"
    assert url.hostname == "postgres" and (url.port or 5432) == 5432
    pg = _env(_service(compose, "postgres"))
    assert (url.username, url.password) == (pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"])
    assert url.path.lstrip("/") == pg["POSTGRES_DB"]


def test_redis_and_s3_point_at_their_services(compose: dict[str, Any]) -> None:
    env = _env(_service(compose, "reelbox"))
    redis = urlsplit(env["REELBOX_REDIS_URL"])
    assert redis.scheme == "redis" and redis.hostname == "redis" and (redis.port or 6379) == 6379
    s3 = urlsplit(env["REELBOX_S3__ENDPOINT_URL"])
    minio = _service(compose, "minio")
    assert s3.hostname == "minio"
    # MinIO serves S3 on 9000 unless its command says --address.
    assert "--address" not in minio["command"] and s3.port == 9000
    root = _env(minio)
    assert env["REELBOX_S3__ACCESS_KEY_ID"] == root["MINIO_ROOT_USER"]
    assert env["REELBOX_S3__SECRET_ACCESS_KEY"] == root["MINIO_ROOT_PASSWORD"]


def test_the_init_container_creates_the_buckets_reelbox_uses(compose: dict[str, Any]) -> None:
    (init_name,) = [n for n, s in compose["services"].items() if s["image"].startswith("minio/mc")]
    init = _service(compose, init_name)
    script = " ".join(init["command"]) if isinstance(init["command"], list) else init["command"]
    assert "http://minio:9000" in script
    created = set(re.findall(r"mc mb (?:--ignore-existing )?local/([a-z0-9.-]+)", script))
    assert _env(_service(compose, "reelbox"))["REELBOX_IMAGES_S3_BUCKET"] in created
    assert init["depends_on"]["minio"]["condition"] == "service_healthy"
    depends = _service(compose, "reelbox")["depends_on"]
    assert depends[init_name]["condition"] == "service_completed_successfully"


def test_reelbox_starts_after_healthy_services(compose: dict[str, Any]) -> None:
    depends = _service(compose, "reelbox")["depends_on"]
    for name, rule in depends.items():
        assert name in compose["services"], f"depends on an unknown service {name}"
        if rule["condition"] == "service_healthy":
            assert "healthcheck" in _service(compose, name), f"{name} needs a healthcheck"
    assert {n for n, r in depends.items() if r["condition"] == "service_healthy"} >= {
        "postgres",
        "redis",
    }


def test_port_volumes_and_media_agree_with_the_image(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    reelbox = _service(compose, "reelbox")
    settings = settings_from_env(_env(reelbox), monkeypatch)
    runtime = stages()[-1]
    published = [str(p).rsplit(":", 1) for p in reelbox["ports"]]
    assert [int(container) for _, container in published] == [settings.port]
    exposed = [int(p.split("/")[0]) for c in runtime.all("EXPOSE") for p in c.value]
    assert exposed == [settings.port]
    mounts = {m.split(":")[1]: m.split(":")[0] for m in reelbox["volumes"]}
    # The image's data volume is a named volume, so the catalog's files outlive the container.
    data_dir = runtime.env()["REELBOX_DATA_DIR"]
    assert mounts[data_dir] in compose["volumes"]
    for folder in settings.media_dirs:
        assert str(folder) in mounts, f"media folder {folder} is not mounted"
    for service in compose["services"].values():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in compose["volumes"], f"named volume {source} is not declared"
