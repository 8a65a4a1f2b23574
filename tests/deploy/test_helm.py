"""The Helm chart, rendered by Helm's own engine with several sets of values, linted strictly,
and checked against Kubernetes' schemas (1.25, the chart's oldest, and the newest known), the
server's routes and its settings. No cluster runs here: nothing is installed."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml
from helm_python.errors import HelmRenderError

from tests.deploy.chart import CHART, CLUSTER, EVERYTHING, RELEASE, Render, merged, render
from tests.deploy.contract import (
    REPO,
    assert_liveness_path,
    assert_readiness_path,
    reelbox_names,
    setting_path,
    settings_from_env,
    websocket_rules,
)
from tests.deploy.image import stages
from web.ws import WsSettings

SCENARIOS = {
    "cluster": CLUSTER,
    "everything": EVERYTHING,
    "fixed-replicas": merged(CLUSTER, {"autoscaling": {"enabled": False}, "replicaCount": 3}),
    "existing-secret": {"secrets": {"existingSecret": "reelbox-settings"}},
}
KUBERNETES = ["1.25.0", kubernetes_validate.latest_version()]


@pytest.fixture(scope="module", params=sorted(SCENARIOS))
def scenario(request: pytest.FixtureRequest) -> Render:
    return render(SCENARIOS[request.param])


@pytest.mark.parametrize("values", [CLUSTER, EVERYTHING], ids=["cluster", "everything"])
def test_helm_lint_strict_reports_no_warning(values: dict[str, Any]) -> None:
    report = helm.lint(str(CHART), values, strict=True)
    assert report["total_charts_linted"] == 1 and not report["errors"], report
    problems = [m for m in report["messages"] if m["severity"] >= 2]  # 2 warning, 3 error
    assert not problems, problems


@pytest.mark.parametrize("version", KUBERNETES)
def test_every_object_follows_the_kubernetes_schema(scenario: Render, version: str) -> None:
    assert {"Deployment", "Service", "ConfigMap", "PodDisruptionBudget"} <= scenario.kinds()
    for obj in scenario.objects:
        # strict: an unknown field (a misspelt readinessProbe) is an error, not ignored.
        kubernetes_validate.validate(obj, version, strict=True)


def test_the_schema_check_catches_a_misspelt_field() -> None:
    deployment = render(CLUSTER).one("Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinessprobe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES[-1], strict=True)


@pytest.mark.anyio
async def test_probes_use_the_servers_liveness_and_readiness_routes(tmp_path: Path) -> None:
    container = render(CLUSTER).container()
    named_ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] in named_ports, probe
    await assert_readiness_path(container["readinessProbe"]["httpGet"]["path"], tmp_path)
    await assert_liveness_path(container["livenessProbe"]["httpGet"]["path"], tmp_path)
    await assert_liveness_path(container["startupProbe"]["httpGet"]["path"], tmp_path)


def test_settings_are_real_and_load(scenario: Render, monkeypatch: pytest.MonkeyPatch) -> None:
    env = scenario.environment()
    names = reelbox_names(env)
    assert "REELBOX_PORT" in names and "REELBOX_HOST" in names
    for name in names:
        setting_path(name)
    reelbox_env = {k: v for k, v in env.items() if k in names}
    settings = settings_from_env(reelbox_env, monkeypatch)
    assert settings.host == "0.0.0.0"
    container = scenario.container()
    assert [p["containerPort"] for p in container["ports"]] == [settings.port]
    # The data directory is a mounted volume: the root filesystem is read-only.
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert str(settings.data_dir) in mounts and "/tmp" in mounts
    if scenario.all("Secret"):
        assert settings.resolved_database_url.startswith("postgresql+asyncpg://")
        assert settings.redis_url and settings.auth.secret is not None


def test_every_secret_setting_is_in_the_secret_not_the_configmap(scenario: Render) -> None:
    (config,) = scenario.all("ConfigMap")
    secret_fields = {"database_url", "redis_url", "secret_access_key", "secret", "client_secret"}
    for name in config["data"]:
        assert setting_path(name)[-1] not in secret_fields, f"{name} is in the ConfigMap"
        assert setting_path(name)[-1] != "metrics_token"


def test_service_links_cannot_clobber_settings(scenario: Render) -> None:
    """Kubernetes gives every pod <SERVICE>_PORT=tcp://..., <SERVICE>_SERVICE_HOST and more for
    each Service in its namespace: for a Service named reelbox those are REELBOX_* names, and
    REELBOX_PORT=tcp://10.0.0.1:80 fails the server's settings."""
    links = {
        svc["metadata"]["name"].upper().replace("-", "_") + "_PORT"
        for svc in scenario.all("Service")
    }
    assert any(name.startswith("REELBOX_") for name in links), "the release name makes it real"
    assert scenario.one("Deployment")["spec"]["template"]["spec"]["enableServiceLinks"] is False


def test_service_and_ingress_reach_the_containers_port(scenario: Render) -> None:
    container = scenario.container()
    container_ports = {p["name"] for p in container["ports"]}
    service = scenario.one("Service")
    for port in service["spec"]["ports"]:
        assert port["targetPort"] in container_ports
    for ingress in scenario.all("Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["name"] == service["metadata"]["name"]
                assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}


def test_selectors_match_the_pods(scenario: Render) -> None:
    deployment = scenario.one("Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]

    def selects(selector: dict[str, str]) -> bool:
        return bool(selector) and selector.items() <= pod_labels.items()

    assert selects(deployment["spec"]["selector"]["matchLabels"])
    assert selects(scenario.one("Service")["spec"]["selector"])
    assert selects(scenario.one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"])
    for spread in deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]:
        assert selects(spread["labelSelector"]["matchLabels"])
    for hpa in scenario.all("HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])


def test_autoscaling_on_cpu_owns_the_replica_count() -> None:
    scaled = render(CLUSTER)
    hpa = scaled.one("HorizontalPodAutoscaler")
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"]["type"] == "Utilization"
    # Utilization is a share of the request: without one the HPA cannot compute it.
    assert scaled.container()["resources"]["requests"]["cpu"]
    assert "replicas" not in scaled.one("Deployment")["spec"], "the HPA sets it, not each upgrade"
    fixed = render(SCENARIOS["fixed-replicas"])
    assert "HorizontalPodAutoscaler" not in fixed.kinds()
    assert fixed.one("Deployment")["spec"]["replicas"] == 3
    with pytest.raises(HelmRenderError, match=r"resources\.requests\.cpu"):
        render(merged(CLUSTER, {"resources": {"requests": {"cpu": None}}}))


def test_gpu_nodes_get_nvidia_devices_only_when_asked() -> None:
    gpu = render(EVERYTHING)
    pod = gpu.one("Deployment")["spec"]["template"]["spec"]
    assert gpu.container()["resources"]["limits"]["nvidia.com/gpu"] == 2
    assert gpu.container()["resources"]["limits"]["memory"], "the other limits stay"
    assert any(t["key"] == "nvidia.com/gpu" for t in pod["tolerations"])
    assert pod["runtimeClassName"] == "nvidia"
    capabilities = gpu.environment()["NVIDIA_DRIVER_CAPABILITIES"].split(",")
    assert "video" in capabilities, "NVENC needs the driver's video capability"
    plain = render(CLUSTER)
    assert not any("nvidia" in text for text in plain.files.values())


def test_ingress_is_optional_and_keeps_websockets_open() -> None:
    assert "Ingress" not in render(CLUSTER).kinds()
    ingress = render(EVERYTHING).one("Ingress")
    prefixes = [p["path"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    rules = websocket_rules()
    assert "/api/ws" in rules
    for ws in rules:
        assert any(ws.startswith(prefix) for prefix in prefixes), f"{ws} is not routed"
    annotations = ingress["metadata"]["annotations"]
    idle = WsSettings().idle_timeout_s
    for name in ("proxy-read-timeout", "proxy-send-timeout"):
        value = annotations[f"nginx.ingress.kubernetes.io/{name}"]
        assert int(value) > idle, f"{name} would cut an idle WebSocket before the server does"
    assert ingress["spec"]["tls"][0]["hosts"] == ["media.example.org"]


def test_pod_disruption_budget_never_blocks_a_drain() -> None:
    for values in (
        CLUSTER,
        merged(CLUSTER, {"autoscaling": {"enabled": False}, "replicaCount": 1}),
    ):
        pdb = render(values).one("PodDisruptionBudget")["spec"]
        # maxUnavailable (not minAvailable: 1) lets a one-replica install drain its node.
        assert pdb.get("maxUnavailable") == 1 and "minAvailable" not in pdb


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, r"secrets\.databaseUrl"),
        (merged(CLUSTER, {"secrets": {"databaseUrl": "postgresql://u@db/r"}}), "asyncpg"),
        (merged(CLUSTER, {"secrets": {"databaseUrl": "sqlite:///x.db"}}), "asyncpg"),
        (merged(CLUSTER, {"secrets": {"redisUrl": ""}}), r"secrets\.redisUrl"),
        (merged(CLUSTER, {"secrets": {"redisUrl": "http://redis"}}), "redis://"),
        (merged(CLUSTER, {"reelbox": {"extraConfig": {"LOG_LEVEL": "debug"}}}), "REELBOX_"),
        (merged(CLUSTER, {"secrets": {"extra": {"TOKEN": "x"}}}), "REELBOX_"),
    ],
    ids=["no-database", "psycopg", "sqlite", "no-redis", "http-redis", "config", "secret"],
)
def test_values_a_cluster_cannot_run_with_are_refused(values: dict[str, Any], message: str) -> None:
    with pytest.raises(HelmRenderError, match=message):
        render(values)


def test_an_existing_secret_replaces_the_charts_own() -> None:
    rendered = render(SCENARIOS["existing-secret"])
    assert "Secret" not in rendered.kinds()
    refs = [s["secretRef"]["name"] for s in rendered.container()["envFrom"] if "secretRef" in s]
    assert refs == ["reelbox-settings"]


def test_a_settings_change_rolls_the_pods() -> None:
    def checksums(values: dict[str, Any]) -> dict[str, str]:
        annotations = render(values).one("Deployment")["spec"]["template"]["metadata"]
        return {k: v for k, v in annotations["annotations"].items() if k.startswith("checksum/")}

    base = checksums(CLUSTER)
    assert checksums(CLUSTER) == base, "stable while nothing changes"
    logs = checksums(merged(CLUSTER, {"reelbox": {"logLevel": "debug"}}))
    assert logs["checksum/config"] != base["checksum/config"]
    moved = checksums(merged(CLUSTER, {"secrets": {"redisUrl": "redis://other:6379/0"}}))
    assert moved["checksum/secret"] != base["checksum/secret"]


def test_pods_run_as_the_images_user_on_a_read_only_root() -> None:
    rendered = render(CLUSTER)
    pod = rendered.one("Deployment")["spec"]["template"]["spec"]
    uid, _, gid = stages()[-1].all("USER")[-1].value[0].partition(":")
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == int(uid)
    assert pod["securityContext"]["fsGroup"] == int(gid or uid), "the volumes are writable"
    context = rendered.container()["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False


def test_chart_deploys_this_release_of_reelbox() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert chart["appVersion"] == project["version"]
    image = render(CLUSTER).container()["image"]
    assert image == f"reelbox:{project['version']}"
    assert (
        render(merged(CLUSTER, {"image": {"tag": "edge"}})).container()["image"].endswith(":edge")
    )


def test_notes_say_how_to_reach_the_server_and_warn_about_unshared_images() -> None:
    notes = render(CLUSTER).files[f"{CHART.name}/templates/NOTES.txt"]
    assert f"service/{RELEASE}" in notes and "reelbox user add" in notes
    assert "imagesBucket is not set" in notes
    everything = render(EVERYTHING).files[f"{CHART.name}/templates/NOTES.txt"]
    assert "https://media.example.org/" in everything
    assert "imagesBucket is not set" not in everything
    # Every kubectl line names a real `reelbox` command.
    import argparse

    from web.__main__ import build_parser

    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    commands = re.findall(r"-- reelbox (\w+)", notes)
    assert commands and set(commands) <= set(sub.choices)
