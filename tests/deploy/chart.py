"""The Helm chart rendered by Helm itself: helm-python-sdk binds Helm's Go SDK (the engine of
``helm template``: Go templates, Sprig, ``required``/``fail``), offline; ``lookup`` finds
nothing, as in ``helm template``."""

from __future__ import annotations

import base64
import copy
from dataclasses import dataclass
from typing import Any

import helm_python as helm
import yaml

from tests.deploy.contract import REPO

CHART = REPO / "deploy" / "helm" / "reelbox"
RELEASE = "reelbox"  # the name whose Service links would collide with REELBOX_* settings
NAMESPACE = "media"

# The least a cluster install must say: the shared PostgreSQL and Redis.
CLUSTER = {
    "secrets": {
        "databaseUrl": "postgresql+asyncpg://reelbox:pw@postgres.db:5432/reelbox",
        "redisUrl": "redis://redis.cache:6379/0",
    }
}

# Every optional part switched on.
EVERYTHING = {
    "secrets": {
        **CLUSTER["secrets"],
        "s3AccessKeyId": "AKIAEXAMPLE",
        "s3SecretAccessKey": "s3-secret",
        "authSecret": "sealing-secret",
        "metricsToken": "metrics-token",
        "extra": {"REELBOX_AUTH__OIDC__KEYCLOAK__CLIENT_SECRET": "oidc-secret"},
    },
    "reelbox": {
        "publicUrl": "https://media.example.org",
        "streamEncoders": 4,
        "maxEncodesPerUser": 2,
        "s3": {
            "endpointUrl": "https://s3.example.org",
            "region": "eu-west-1",
            "imagesBucket": "reelbox-images",
        },
        "extraConfig": {
            "REELBOX_SCAN__INTERVAL_S": 3600,
            "REELBOX_AUTH__OIDC__KEYCLOAK__ISSUER": "https://sso.example.org/realms/home",
            "REELBOX_AUTH__OIDC__KEYCLOAK__CLIENT_ID": "reelbox",
        },
    },
    "ingress": {
        "enabled": True,
        "className": "nginx",
        "hosts": [{"host": "media.example.org", "paths": [{"path": "/", "pathType": "Prefix"}]}],
        "tls": [{"secretName": "media-tls", "hosts": ["media.example.org"]}],
    },
    "gpu": {"enabled": True, "count": 2, "runtimeClassName": "nvidia"},
    "persistence": {"existingClaim": "reelbox-data"},
    "media": {"existingClaim": "media-library"},
}


def merged(*layers: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for layer in layers:
        _merge(out, copy.deepcopy(layer))
    return out


def _merge(into: dict[str, Any], layer: dict[str, Any]) -> None:
    for key, value in layer.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


@dataclass(frozen=True)
class Render:
    files: dict[str, str]  # template path -> rendered text
    objects: list[dict[str, Any]]

    def one(self, kind: str) -> dict[str, Any]:
        (found,) = self.all(kind)
        return found

    def all(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]

    def kinds(self) -> set[str]:
        return {o["kind"] for o in self.objects}

    def container(self) -> dict[str, Any]:
        (container,) = self.one("Deployment")["spec"]["template"]["spec"]["containers"]
        return dict(container)

    def environment(self) -> dict[str, str]:
        """What the container's process sees: its ConfigMap and Secret, then its own env."""
        env: dict[str, str] = {}
        for source in self.container().get("envFrom", []):
            if "configMapRef" in source:
                (cm,) = [
                    c
                    for c in self.all("ConfigMap")
                    if c["metadata"]["name"] == source["configMapRef"]["name"]
                ]
                env.update(cm["data"])
            if "secretRef" in source:
                for secret in self.all("Secret"):
                    if secret["metadata"]["name"] == source["secretRef"]["name"]:
                        env.update(
                            {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
                        )
        env.update({e["name"]: e["value"] for e in self.container().get("env", [])})
        return env


def render(values: dict[str, Any]) -> Render:
    with helm.Chart.load(str(CHART)) as chart:
        files = chart.render(values, name=RELEASE, namespace=NAMESPACE)
    objects = [
        doc
        for path, text in sorted(files.items())
        if path.endswith((".yaml", ".yml"))
        for doc in yaml.safe_load_all(text)
        if doc
    ]
    return Render(files, objects)
