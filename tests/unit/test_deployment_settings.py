"""Every way of deploying Sonrisa (compose, Kubernetes, Ansible) configures it with exactly the
settings the app reads: each `CLINIC_*` name they give is a field of `Settings`, none is
misspelt into a setting that silently keeps its default, and each deployment supplies the
keys and stores the app refuses to start without."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {f"CLINIC_{name.upper()}" for name in Settings.model_fields}
# Without these the platform does not start (keys) or has nowhere to keep anything (stores).
REQUIRED = {
    "CLINIC_JWT_SECRET",
    "CLINIC_AUDIT_KEY",
    "CLINIC_DATA_KEY",
    "CLINIC_LINK_KEY",
    "CLINIC_DATABASE_URL",
    "CLINIC_RABBITMQ_URL",
    "CLINIC_MONGO_URL",
}
NAME = re.compile(r"\bCLINIC_[A-Z0-9_]*[A-Z0-9]\b")
# What the deployment files are: every one of them is read for CLINIC_* names.
DEPLOYMENT_FILES = [
    ROOT / "docker-compose.yml",
    ROOT / ".env.example",
    ROOT / "Dockerfile",
    *sorted(p for p in (ROOT / "deploy").rglob("*") if p.is_file() and "tools" not in p.parts),
]
# The test suite's own variables, which CI's pipelines pass to `.ci/run`; not settings.
TEST_VARIABLES = {"CLINIC_TEST_POSTGRES", "CLINIC_TEST_RABBITMQ", "CLINIC_TEST_RABBITMQ_NODE"}


def test_every_clinic_name_in_a_deployment_file_is_a_setting() -> None:
    unknown = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in DEPLOYMENT_FILES
        for name in NAME.findall(path.read_text(errors="replace"))
        if name not in SETTINGS
    }
    assert unknown == set(), "names the app does not read (misspelt, or a setting was renamed)"


def test_ci_pipelines_name_only_settings_and_the_test_suites_variables() -> None:
    pipelines = [*(ROOT / ".github" / "workflows").glob("*.yml"), ROOT / "Jenkinsfile"]
    assert pipelines
    for path in pipelines:
        assert set(NAME.findall(path.read_text())) <= SETTINGS | TEST_VARIABLES, path


def _compose_environment() -> dict[str, dict[str, Any]]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return {
        name: service.get("environment") or {}
        for name, service in compose["services"].items()
        if str(service.get("image", "")).startswith("sonrisa") or (service.get("build") is not None)
    }


def test_every_compose_app_service_is_given_the_keys_and_the_stores() -> None:
    services = _compose_environment()
    assert {"api", "relay", "projectors", "reminders", "inventory", "audit"} <= set(services)
    for name, environment in services.items():
        given = set(environment)
        assert given <= SETTINGS | {"PYTHONDONTWRITEBYTECODE"}, name
        assert given >= REQUIRED, f"{name} lacks {sorted(REQUIRED - given)}"


def _built(overlay: str) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    assert kubectl is not None, "kubectl is needed to build the overlays (make deploy-install)"
    built = subprocess.run(
        [kubectl, "kustomize", str(ROOT / "deploy" / "k8s" / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=True,
    )
    return [doc for doc in yaml.safe_load_all(built.stdout) if doc]


def _containers(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for obj in objects:
        if obj["kind"] in {"Deployment", "Job", "StatefulSet"}:
            pod = obj["spec"]["template"]["spec"]
            for container in pod.get("initContainers", []) + pod["containers"]:
                found.append((f"{obj['kind']}/{obj['metadata']['name']}", container))
    return found


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_every_kubernetes_app_container_reads_settings_and_the_secret_by_reference(
    overlay: str,
) -> None:
    objects = _built(overlay)
    config = [
        o for o in objects if o["kind"] == "ConfigMap" and "sonrisa-config" in o["metadata"]["name"]
    ]
    assert len(config) == 1
    assert set(config[0]["data"]) <= SETTINGS
    assert not [o for o in objects if o["kind"] == "Secret"], "secrets are referenced, not shipped"
    apps = [
        (where, c)
        for where, c in _containers(objects)
        if c["image"].startswith(("sonrisa", "localhost:5001/sonrisa")) or "/sonrisa" in c["image"]
    ]
    assert len(apps) >= 7  # six long-running parts and the migrate Job
    for where, container in apps:
        names = {e["name"] for e in container.get("env", []) if e["name"].startswith("CLINIC_")}
        assert names <= SETTINGS, where
        sources = container.get("envFrom", [])
        assert {"secretRef": {"name": "sonrisa-secrets"}} in sources, where
        assert any(
            s.get("configMapRef", {}).get("name") == config[0]["metadata"]["name"] for s in sources
        ), where


def test_the_ansible_play_supplies_every_key_and_only_settings() -> None:
    variables = yaml.safe_load((ROOT / "deploy/ansible/group_vars/sonrisa/main.yml").read_text())
    settings = set(variables["sonrisa_settings"])
    keys = set(variables["sonrisa_keys"])
    assert settings | keys <= SETTINGS
    assert keys >= {"CLINIC_JWT_SECRET", "CLINIC_AUDIT_KEY", "CLINIC_DATA_KEY", "CLINIC_LINK_KEY"}
