"""docker-compose.yml, the Dockerfile, Settings and the `clinic` CLI agree with one another.

Docker is not needed: these read the files and compare them with the Python code they run.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer.main
import yaml

from clinic.cli import app
from infra.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
PROMETHEUS_FILE = ROOT / "deploy" / "monitoring" / "prometheus.yml"

INFRA_SERVICES = ("postgres", "rabbitmq", "mongo")
APP_SERVICES = ("migrate", "api", "relay", "projectors", "reminders")
LONG_RUNNING_APP_SERVICES = ("api", "relay", "projectors", "reminders")

# `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?error}` and `${NAME?error}`.
INTERPOLATION = re.compile(
    r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
)


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(loaded, dict), "docker-compose.yml must be a mapping"
    return loaded


def _services() -> dict[str, dict[str, Any]]:
    services = _compose().get("services")
    assert isinstance(services, dict), "docker-compose.yml has no services mapping"
    return services


SECRETS = {"CLINIC_JWT_SECRET", "CLINIC_AUDIT_KEY", "CLINIC_DATA_KEY", "CLINIC_LINK_KEY"}


def supplied(name: str) -> str:
    """What an operator exports before `docker compose up`: a key of its own per variable."""
    return f"{name.lower()}-{'s' * 32}"


def _interpolate(value: str) -> str:
    """What `docker compose` makes of a value when only the secrets are set."""

    def replace(match: re.Match[str]) -> str:
        if match.group("name") in SECRETS:
            return supplied(match.group("name"))
        op = match.group("op")
        assert op in ("-", ":-"), f"{match.group(0)} has no default, so compose needs it set"
        return match.group("arg")

    return INTERPOLATION.sub(replace, value)


def _environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment (mapping or list form), interpolated with its defaults."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {str(k): _interpolate(str(v)) for k, v in raw.items()}


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command")
    assert command, "an app service must say which `clinic` subcommand it runs"
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def _dockerfile_instruction(keyword: str) -> list[str]:
    """Arguments of every `keyword` instruction in the Dockerfile, in order."""
    found = []
    for line in DOCKERFILE.read_text().splitlines():
        parts = line.strip().split(maxsplit=1)
        if len(parts) == 2 and parts[0].upper() == keyword:
            found.append(parts[1])
    return found


def _depends_on(service: dict[str, Any]) -> dict[str, str]:
    """`depends_on` as {service: condition}; the short list form means service_started."""
    raw = service.get("depends_on") or {}
    if isinstance(raw, list):
        return {name: "service_started" for name in raw}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in raw.items()}


def _settings_env_names() -> set[str]:
    prefix = Settings.model_config.get("env_prefix", "")
    return {f"{prefix}{name}".upper() for name in Settings.model_fields}


def test_compose_file_parses_and_declares_every_service() -> None:
    services = _services()
    assert set(INFRA_SERVICES + APP_SERVICES) <= set(services)


def test_infra_services_use_the_pinned_major_images() -> None:
    services = _services()
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["mongo"]["image"].startswith("mongo:7")
    rabbitmq = services["rabbitmq"]["image"]
    assert rabbitmq.startswith("rabbitmq:")
    assert "management" in rabbitmq


def test_every_clinic_variable_in_compose_is_a_setting() -> None:
    known = _settings_env_names()
    used = {
        (name, service_name)
        for service_name, service in _services().items()
        for name in _environment(service)
        if name.upper().startswith("CLINIC_")
    }
    assert used, "no service is configured through CLINIC_* variables"
    unknown = sorted(f"{service}: {name}" for name, service in used if name.upper() not in known)
    assert not unknown, f"not fields of infra.settings.Settings: {unknown}"


def test_every_variable_has_a_default_except_the_secrets_which_must_be_set() -> None:
    text = COMPOSE_FILE.read_text()
    seen = set()
    for match in INTERPOLATION.finditer(text):
        seen.add(match.group("name"))
        expected = (":?",) if match.group("name") in SECRETS else ("-", ":-")
        assert match.group("op") in expected, f"{match.group(0)} should use {expected}"
    assert seen >= SECRETS


def test_the_api_in_compose_accepts_its_secrets() -> None:
    environment = _environment(_services()["api"])
    settings = Settings.model_validate(
        {k.removeprefix("CLINIC_").lower(): v for k, v in environment.items()}
    )
    assert settings.host == "0.0.0.0"
    keys = settings.keyrings()
    assert keys["jwt"].current == supplied("CLINIC_JWT_SECRET").encode()
    assert keys["audit"].current == supplied("CLINIC_AUDIT_KEY").encode()
    assert keys["data"].current == supplied("CLINIC_DATA_KEY").encode()
    assert keys["links"].current == supplied("CLINIC_LINK_KEY").encode()


def test_every_app_service_is_built_from_the_one_dockerfile() -> None:
    services = _services()
    builds = set()
    images = set()
    for name in APP_SERVICES:
        build = services[name].get("build")
        assert build is not None, f"{name} is not built from the Dockerfile"
        if isinstance(build, str):
            build = {"context": build}
        context = ROOT / build.get("context", ".")
        dockerfile = (context / build.get("dockerfile", "Dockerfile")).resolve()
        assert dockerfile == DOCKERFILE, f"{name} is built from {dockerfile}"
        builds.add(json.dumps(build, sort_keys=True))
        images.add(services[name].get("image"))
    assert len(builds) == 1, f"app services are built differently: {builds}"
    assert len(images) == 1, f"app services are tagged differently: {images}"


def test_the_image_runs_clinic_as_a_non_root_user() -> None:
    assert _dockerfile_instruction("FROM")[0].startswith("python:3.11-slim")
    entrypoints = _dockerfile_instruction("ENTRYPOINT")
    assert entrypoints, "the Dockerfile has no ENTRYPOINT"
    assert json.loads(entrypoints[-1]) == ["clinic"]
    users = _dockerfile_instruction("USER")
    assert users, "the Dockerfile has no USER, so it runs as root"
    assert users[-1].split(":")[0] not in ("root", "0")


def _subcommands(command: object) -> dict[str, object] | None:
    """A command group's subcommands by name (typer's groups and click's both have them)."""
    commands = getattr(command, "commands", None)
    return commands if isinstance(commands, dict) else None


def test_every_app_service_runs_a_clinic_subcommand_that_exists() -> None:
    root = typer.main.get_command(app)
    assert _subcommands(root), "`clinic` has no subcommands to run"
    services = _services()
    for name in APP_SERVICES:
        assert "entrypoint" not in services[name], f"{name} must use the image's `clinic`"
        command: object = root
        words = _command(services[name])
        # Walk into groups (`projections rebuild`) until a command that takes the rest.
        while (group := _subcommands(command)) is not None:
            assert words, f"{name} names no subcommand of `clinic`"
            word = words.pop(0)
            assert word in group, f"{name}: `clinic {word}` does not exist"
            command = group[word]
        assert command is not root


def test_app_services_run_the_process_each_is_named_after() -> None:
    services = _services()
    expected = {"migrate": "migrate", "api": "api", "relay": "relay", "projectors": "project"}
    for name, subcommand in expected.items():
        assert _command(services[name])[0] == subcommand


def test_api_settings_from_compose_point_at_the_compose_services(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    services = _services()
    environment = _environment(services["api"])
    for name in _settings_env_names():
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    settings = Settings()

    database = urlsplit(settings.database_url)
    assert database.hostname == "postgres"
    assert database.hostname in services
    postgres_env = services["postgres"]["environment"]
    eventsourcing = settings.postgres_env()
    assert eventsourcing["POSTGRES_DBNAME"] == postgres_env["POSTGRES_DB"]
    assert eventsourcing["POSTGRES_USER"] == postgres_env.get("POSTGRES_USER", "postgres")
    assert eventsourcing["POSTGRES_PASSWORD"] == postgres_env["POSTGRES_PASSWORD"]

    rabbitmq = urlsplit(settings.rabbitmq_url)
    assert rabbitmq.hostname == "rabbitmq"
    assert rabbitmq.hostname in services
    assert rabbitmq.port == 5672

    # Set explicitly, so no process starts the embedded wire server inside a container.
    assert settings.mongo_url is not None
    mongo = urlsplit(settings.effective_mongo_url())
    assert mongo.hostname == "mongo"
    assert mongo.hostname in services

    assert settings.host == "0.0.0.0"
    assert f"{settings.port}:{settings.port}" in services["api"]["ports"]
    assert f"localhost:{settings.port}/healthz" in " ".join(services["api"]["healthcheck"]["test"])


def test_every_app_service_shares_the_api_configuration() -> None:
    services = _services()
    api = _environment(services["api"])
    for name in APP_SERVICES:
        assert _environment(services[name]) == api, f"{name} is configured differently"


def test_infra_services_have_healthchecks_and_declared_named_volumes() -> None:
    compose = _compose()
    declared = set(compose.get("volumes") or {})
    for name in INFRA_SERVICES:
        service = compose["services"][name]
        test = service.get("healthcheck", {}).get("test")
        assert test, f"{name} has no healthcheck"
        assert test[0] in ("CMD", "CMD-SHELL"), f"{name}: healthcheck {test} runs nothing"
        volumes = service.get("volumes") or []
        named = [v.split(":")[0] for v in volumes if isinstance(v, str)]
        named = [source for source in named if not source.startswith((".", "/", "~"))]
        assert named, f"{name} keeps its data in no named volume"
        assert set(named) <= declared, f"{name} uses undeclared volumes {set(named) - declared}"


def test_infra_healthchecks_use_the_tool_each_image_ships() -> None:
    services = _services()
    expected = {"postgres": "pg_isready", "rabbitmq": "rabbitmq-diagnostics", "mongo": "mongosh"}
    for name, tool in expected.items():
        assert tool in services[name]["healthcheck"]["test"]


def test_api_has_a_healthcheck_that_needs_no_curl() -> None:
    test = _services()["api"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    assert test[1].startswith("python")
    assert "urllib" in " ".join(test)
    assert "/healthz" in " ".join(test)


def test_app_services_start_after_infra_is_healthy_and_migrations_succeeded() -> None:
    services = _services()
    for name in APP_SERVICES:
        depends = _depends_on(services[name])
        for infra in INFRA_SERVICES:
            assert depends.get(infra) == "service_healthy", f"{name} does not wait for {infra}"
    for name in LONG_RUNNING_APP_SERVICES:
        depends = _depends_on(services[name])
        assert depends.get("migrate") == "service_completed_successfully", name
    assert "migrate" not in _depends_on(services["migrate"])


def test_migrate_runs_once_and_the_rest_are_restarted() -> None:
    services = _services()
    assert services["migrate"].get("restart", "no") == "no"
    for name in LONG_RUNNING_APP_SERVICES + INFRA_SERVICES:
        assert services[name].get("restart") in ("always", "unless-stopped"), name


def test_rabbitmq_publishes_amqp_and_management_ports() -> None:
    ports = [str(p) for p in _services()["rabbitmq"]["ports"]]
    assert any(p.endswith(":5672") for p in ports)
    assert any(p.endswith(":15672") for p in ports)


def test_prometheus_scrapes_every_process_on_the_metrics_port_which_is_not_published() -> None:
    config = yaml.safe_load(PROMETHEUS_FILE.read_text())
    services = _services()
    environment = _environment(services["api"])
    metrics_port = environment["CLINIC_METRICS_PORT"]
    assert metrics_port != environment["CLINIC_PORT"]
    targets = {
        target
        for job in config["scrape_configs"]
        if job.get("metrics_path", "/metrics") == "/metrics"
        for group in job.get("static_configs", [])
        for target in group.get("targets", [])
    }
    assert {f"{name}:{metrics_port}" for name in LONG_RUNNING_APP_SERVICES} <= targets
    assert not any(t.endswith(f":{environment['CLINIC_PORT']}") for t in targets)
    for name in APP_SERVICES:
        published = [str(p) for p in services[name].get("ports", [])]
        assert not any(metrics_port in p.split(":")[-1] for p in published), name
