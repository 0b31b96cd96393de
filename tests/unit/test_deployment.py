"""docker-compose.yml, .env.example, the Dockerfile, Settings and the `clinic` CLI agree with
one another, and the containers keep the deployment rules: non-root, read-only, no capability,
no default secret (issue 20).

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

from clinic import registry
from clinic.cli import app
from infra.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
PROMETHEUS_FILE = ROOT / "deploy" / "monitoring" / "prometheus.yml"

INFRA_SERVICES = ("postgres", "rabbitmq", "mongo")
APP_SERVICES = ("migrate", "api", "relay", "projectors", "reminders", "inventory", "audit")
LONG_RUNNING_APP_SERVICES = ("api", "relay", "projectors", "reminders", "inventory", "audit")
# Services that run once and exit: their exit code is their health.
ONE_SHOTS = ("migrate", "logging-certs", "logging-setup")
PROFILES = {
    "monitoring": {"prometheus", "alertmanager", "grafana"},
    "logging": {
        "logging-certs",
        "elasticsearch",
        "logging-setup",
        "logstash",
        "kibana",
        "filebeat",
    },
}
# Where the image keeps the held access-log entries (a volume) and the built web app.
HELD_DIR = "/var/lib/sonrisa/access-log-held"

# `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?error}` and `${NAME?error}`; not
# `$${NAME}`, compose's escape for a `$` the container's shell reads.
INTERPOLATION = re.compile(
    r"(?<!\$)\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
)


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(loaded, dict), "docker-compose.yml must be a mapping"
    return loaded


def _services() -> dict[str, dict[str, Any]]:
    services = _compose().get("services")
    assert isinstance(services, dict), "docker-compose.yml has no services mapping"
    return services


# The platform's keys: Settings refuses to start without them.
SECRETS = {"CLINIC_JWT_SECRET", "CLINIC_AUDIT_KEY", "CLINIC_DATA_KEY", "CLINIC_LINK_KEY"}
# Every variable compose cannot run without (`${NAME:?...}`): the keys and every password.
REQUIRED = SECRETS | {
    "POSTGRES_PASSWORD",
    "RABBITMQ_DEFAULT_PASS",
    "MONGO_INITDB_ROOT_PASSWORD",
    "GRAFANA_ADMIN_PASSWORD",
    "ELASTIC_PASSWORD",
    "KIBANA_SYSTEM_PASSWORD",
    "LOGSTASH_ES_PASSWORD",
    "KIBANA_ENCRYPTION_KEY",
}
# A name that holds a secret, wherever it appears (environment, .env.example).
SECRET_NAME = re.compile(r"(PASSWORD|PASS|SECRET|SECRETS|_KEY|_KEYS|TOKEN|ENCRYPTIONKEY)$")


def supplied(name: str) -> str:
    """What an operator exports before `docker compose up`: a key of its own per variable."""
    return f"{name.lower()}-{'s' * 32}"


def _interpolate(value: str) -> str:
    """What `docker compose` makes of a value when only the secrets are set."""

    def replace(match: re.Match[str]) -> str:
        if match.group("name") in REQUIRED:
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


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """Every instruction of the Dockerfile as (KEYWORD, arguments), continuation lines joined
    and comments dropped (a `# checkov:skip` inside a RUN is a comment too)."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        parts = (pending + line).split(maxsplit=1)
        pending = ""
        instructions.append((parts[0].upper(), parts[1] if len(parts) == 2 else ""))
    return instructions


def _dockerfile_instruction(keyword: str) -> list[str]:
    """Arguments of every `keyword` instruction in the Dockerfile, in order."""
    return [args for found, args in _dockerfile_instructions() if found == keyword]


def _stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's stages, each the instructions from its FROM to the next."""
    stages: list[list[tuple[str, str]]] = []
    for keyword, args in _dockerfile_instructions():
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, args))
    return stages


def _image_env() -> dict[str, str]:
    """The final stage's ENV, as a mapping (`ENV A=1 B=2` and the old `ENV A 1` form)."""
    env: dict[str, str] = {}
    for keyword, args in _stages()[-1]:
        if keyword != "ENV":
            continue
        words = shlex.split(args)
        if words and "=" not in words[0]:
            env[words[0]] = " ".join(words[1:])
        else:
            env.update(dict(word.split("=", 1) for word in words))
    return env


def _env_example() -> dict[str, str]:
    """.env.example's assignments, NAME -> value (as compose reads a .env file)."""
    found: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            name, separator, value = stripped.partition("=")
            assert separator, f".env.example: {line!r} is not NAME=value"
            assert name not in found, f".env.example sets {name} twice"
            found[name] = value
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
        expected = (":?",) if match.group("name") in REQUIRED else ("-", ":-")
        assert match.group("op") in expected, f"{match.group(0)} should use {expected}"
        if match.group("name") in REQUIRED:
            assert match.group("arg").strip(), f"{match.group(0)} should say what to set"
    assert seen >= REQUIRED


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
    final = _stages()[-1]
    assert final[0][1].startswith("python:3.11-slim")
    entrypoints = [args for keyword, args in final if keyword == "ENTRYPOINT"]
    assert entrypoints, "the Dockerfile has no ENTRYPOINT"
    assert json.loads(entrypoints[-1]) == ["clinic"]
    users = [args for keyword, args in final if keyword == "USER"]
    assert users, "the runtime stage has no USER, so it runs as root"
    # Numeric, so Kubernetes' runAsNonRoot can check it without the image's /etc/passwd.
    user = users[-1]
    assert re.fullmatch(r"\d+(:\d+)?", user), f"USER {user} is not a numeric uid[:gid]"
    assert all(int(part) != 0 for part in user.split(":")), f"USER {user} is root"


def test_the_dockerfile_builds_the_web_app_in_a_node_stage_and_copies_it() -> None:
    stages = _stages()
    assert len(stages) >= 2, "the Dockerfile is not multi-stage"
    web_from = stages[0][0][1].split()
    assert web_from[0].startswith("node:20"), web_from
    assert len(web_from) == 3, "name the web stage (FROM node:20... AS web)"
    assert web_from[1].upper() == "AS", "name the web stage (FROM node:20... AS web)"
    web = web_from[2]
    web_runs = " ".join(args for keyword, args in stages[0] if keyword == "RUN")
    assert "npm ci" in web_runs
    assert "vite build" in web_runs
    final = stages[-1]
    assert not any(keyword == "RUN" and "npm" in args for keyword, args in final)
    copies = [args for keyword, args in final if keyword == "COPY" and f"--from={web}" in args]
    assert copies, "the runtime stage does not copy the built web app"
    web_root = _image_env().get("CLINIC_WEB_ROOT")
    assert web_root, "CLINIC_WEB_ROOT is not set: Settings' default is not inside site-packages"
    assert copies[-1].split()[-1].rstrip("/") == web_root.rstrip("/")
    assert copies[-1].split()[-2].rstrip("/").endswith("/dist")


def test_the_image_works_on_a_read_only_root_filesystem() -> None:
    env = _image_env()
    # Every module is compiled when pip installs it; nothing tries to write bytecode later.
    assert env.get("PYTHONDONTWRITEBYTECODE") == "1"
    # The only place the app writes (besides /tmp, a tmpfs) is the held access log: a volume.
    assert env.get("CLINIC_ACCESS_LOG_HELD_DIR") == HELD_DIR
    volumes = " ".join(_dockerfile_instruction("VOLUME"))
    assert HELD_DIR in volumes
    # Prometheus' multiprocess folder is `clinic up`'s; the image runs one process per container.
    assert "PROMETHEUS_MULTIPROC_DIR" not in env
    # Neither the image nor compose sets a secret: no key, password or URL has a default here.
    for name in env:
        assert not SECRET_NAME.search(name), name
        assert not name.endswith("_URL"), name


def test_every_clinic_variable_of_the_image_is_a_setting() -> None:
    known = _settings_env_names()
    used = {name for name in _image_env() if name.startswith("CLINIC_")}
    assert used, "the image sets no CLINIC_* default"
    assert used <= known, f"not fields of Settings: {sorted(used - known)}"


def test_the_image_has_a_healthcheck_on_healthz_that_needs_no_curl() -> None:
    checks = [args for keyword, args in _stages()[-1] if keyword == "HEALTHCHECK"]
    assert checks, "the runtime stage has no HEALTHCHECK"
    options, _, command = checks[-1].partition("CMD")
    assert "--interval" in options
    assert "--timeout" in options
    words = json.loads(command)
    assert words[0] == "python"
    assert "urllib" in words[-1]
    assert "/healthz" in words[-1]
    assert "CLINIC_PORT" in words[-1]


def test_the_build_context_leaves_out_secrets_and_local_state() -> None:
    lines = [line.strip() for line in DOCKERIGNORE.read_text().splitlines()]
    # An allow-list: everything is excluded unless named.
    assert "*" in lines
    allowed = [line for line in lines if line.startswith("!")]
    for secret in (".env", ".clinic-secrets", ".clinic-data", ".venv", "node_modules"):
        assert not any(secret in line for line in allowed), secret
    assert "**/.env" in lines


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
        words = _command(services[name])
        if words[0] == "worker":
            # `clinic worker NAME` takes any word: check NAME is a declared worker.
            assert len(words) == 2, f"{name}: {words}"
            assert words[1] in _declared_workers(), f"{name}: {words}"
        command: object = root
        words = _command(services[name])
        # Walk into groups (`projections rebuild`) until a command that takes the rest.
        while (group := _subcommands(command)) is not None:
            assert words, f"{name} names no subcommand of `clinic`"
            word = words.pop(0)
            assert word in group, f"{name}: `clinic {word}` does not exist"
            command = group[word]
        assert command is not root


def _declared_workers() -> set[str]:
    return {worker.name for context in registry.CONTEXTS for worker in context.workers}


def test_app_services_run_the_process_each_is_named_after() -> None:
    services = _services()
    expected = {
        "migrate": ["migrate"],
        "api": ["api"],
        "relay": ["relay"],
        "projectors": ["project"],
        "reminders": ["worker", "reminders"],
        "inventory": ["worker", "inventory"],
        "audit": ["worker", "audit"],
    }
    for name, command in expected.items():
        assert _command(services[name]) == command, name


def test_every_declared_worker_has_a_service() -> None:
    commands = {tuple(_command(service)) for service in _services().values() if "build" in service}
    for worker in _declared_workers():
        assert ("worker", worker) in commands, f"no compose service runs `clinic worker {worker}`"


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
    postgres_env = _environment(services["postgres"])
    eventsourcing = settings.postgres_env()
    assert eventsourcing["POSTGRES_DBNAME"] == postgres_env["POSTGRES_DB"]
    assert eventsourcing["POSTGRES_USER"] == postgres_env.get("POSTGRES_USER", "postgres")
    assert eventsourcing["POSTGRES_PASSWORD"] == postgres_env["POSTGRES_PASSWORD"]

    rabbitmq = urlsplit(settings.rabbitmq_url)
    rabbitmq_env = _environment(services["rabbitmq"])
    assert rabbitmq.hostname == "rabbitmq"
    assert rabbitmq.hostname in services
    assert rabbitmq.port == 5672
    assert rabbitmq.username == rabbitmq_env["RABBITMQ_DEFAULT_USER"]
    assert rabbitmq.password == rabbitmq_env["RABBITMQ_DEFAULT_PASS"]

    # Set explicitly, so no process starts the embedded wire server inside a container.
    assert settings.mongo_url is not None
    mongo = urlsplit(settings.effective_mongo_url())
    mongo_env = _environment(services["mongo"])
    assert mongo.hostname == "mongo"
    assert mongo.hostname in services
    assert mongo.username == mongo_env["MONGO_INITDB_ROOT_USERNAME"]
    assert mongo.password == mongo_env["MONGO_INITDB_ROOT_PASSWORD"]
    assert "authSource=admin" in mongo.query

    assert settings.host == "0.0.0.0"
    assert f"127.0.0.1:{settings.port}:{settings.port}" in services["api"]["ports"]
    healthcheck = " ".join(services["api"]["healthcheck"]["test"])
    assert f"127.0.0.1:{settings.port}/healthz" in healthcheck
    assert settings.access_log_held_dir == Path(HELD_DIR)


def test_every_app_service_shares_the_api_configuration() -> None:
    services = _services()
    api = _environment(services["api"])
    api.pop("CLINIC_PROCESS_NAME", None)
    for name in APP_SERVICES:
        environment = _environment(services[name])
        # Only its name in the logs differs.
        assert environment.pop("CLINIC_PROCESS_NAME", None) == name, name
        assert environment == api, f"{name} is configured differently"


def test_infra_services_have_healthchecks_and_declared_named_volumes() -> None:
    compose = _compose()
    declared = set(compose.get("volumes") or {})
    stateful = (*INFRA_SERVICES, "prometheus", "alertmanager", "grafana", "elasticsearch")
    for name in stateful:
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


def test_one_shots_run_once_and_the_rest_are_restarted() -> None:
    services = _services()
    for name, service in services.items():
        if name in ONE_SHOTS:
            assert str(service.get("restart", "no")) == "no", name
        else:
            assert service.get("restart") in ("always", "unless-stopped"), name


def test_rabbitmq_publishes_amqp_and_management_ports() -> None:
    ports = [str(p) for p in _services()["rabbitmq"]["ports"]]
    assert any(p.endswith(":5672") for p in ports)
    assert any(p.endswith(":15672") for p in ports)


def test_ports_are_published_on_the_loopback_only() -> None:
    """Only the TLS proxy on the host (and operators through SSH) reach a container; Docker's
    published ports would otherwise bypass the host's firewall."""
    for name, service in _services().items():
        for port in service.get("ports") or []:
            assert isinstance(port, str), f"{name}: write ports as HOST_IP:HOST:CONTAINER"
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond the loopback"


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


def test_every_app_service_is_read_only_without_capabilities_or_privilege_escalation() -> None:
    services = _services()
    for name in APP_SERVICES:
        service = services[name]
        assert service.get("read_only") is True, f"{name}: root filesystem is writable"
        tmpfs = service.get("tmpfs") or []
        tmpfs = [tmpfs] if isinstance(tmpfs, str) else tmpfs
        assert any(t.split(":")[0] == "/tmp" for t in tmpfs), f"{name}: no tmpfs on /tmp"
        assert service.get("cap_drop") == ["ALL"], f"{name} keeps capabilities"
        assert "no-new-privileges:true" in (service.get("security_opt") or []), name
        assert "privileged" not in service, name
        assert "cap_add" not in service, name
        assert "user" not in service, f"{name} must run as the image's non-root USER"
    # The API writes held access-log entries: a named volume, the only writable path but /tmp.
    api_volumes = [str(v) for v in services["api"].get("volumes") or []]
    assert f"access-log-held:{HELD_DIR}" in api_volumes


def test_every_service_refuses_privilege_escalation() -> None:
    for name, service in _services().items():
        assert "no-new-privileges:true" in (service.get("security_opt") or []), name
        assert not service.get("privileged"), name


def test_long_running_services_have_healthchecks_and_one_shots_do_not() -> None:
    for name, service in _services().items():
        healthcheck = service.get("healthcheck") or {}
        if name in ONE_SHOTS:
            assert "test" not in healthcheck, f"{name} exits: its exit code is its health"
            continue
        assert not healthcheck.get("disable"), f"{name} has its healthcheck disabled"
        test = healthcheck.get("test")
        assert test, f"{name} has no healthcheck"
        assert test[0] in ("CMD", "CMD-SHELL"), f"{name}: healthcheck {test} runs nothing"


def test_workers_are_probed_on_the_metrics_port() -> None:
    services = _services()
    metrics_port = _environment(services["api"])["CLINIC_METRICS_PORT"]
    for name in LONG_RUNNING_APP_SERVICES:
        if name == "api":
            continue
        test = services[name]["healthcheck"]["test"]
        assert test[:2] == ["CMD", "python"], f"{name}: the image has no curl"
        assert f"127.0.0.1:{metrics_port}/metrics" in " ".join(test), name


def test_profiles_add_monitoring_and_logging_and_the_core_has_none() -> None:
    services = _services()
    for profile, names in PROFILES.items():
        assert names <= set(services), f"{profile}: missing {names - set(services)}"
        for name in names:
            assert services[name].get("profiles") == [profile], name
    for name in INFRA_SERVICES + APP_SERVICES:
        assert "profiles" not in services[name], f"{name} must start without a profile"
    assert services["elasticsearch"]["image"].split(":")[-1].startswith("8.")


def test_files_compose_mounts_exist() -> None:
    """A missing bind-mount source would be created by Docker as an empty root-owned folder,
    and the service would start with no configuration."""
    expected = {
        "prometheus": ["deploy/monitoring/prometheus.yml", "deploy/monitoring/rules"],
        "alertmanager": ["deploy/monitoring/alertmanager.yml"],
        "grafana": [
            "deploy/monitoring/grafana/provisioning",
            "deploy/monitoring/grafana/dashboards",
        ],
        "logstash": ["deploy/logging/logstash/pipeline"],
        "filebeat": ["deploy/logging/filebeat.yml"],
    }
    services = _services()
    for name, paths in expected.items():
        sources = [str(v).split(":")[0] for v in services[name].get("volumes") or []]
        for path in paths:
            assert f"./{path}" in sources, f"{name} does not mount {path}"
    for name, service in services.items():
        for volume in service.get("volumes") or []:
            source = str(volume).split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which does not exist"
                assert str(volume).endswith(":ro"), f"{name} mounts {source} writable"
    assert list((ROOT / "deploy/monitoring/rules").glob("*.yml")), "no alert rules to mount"


def test_no_secret_has_a_literal_value_in_compose() -> None:
    """Every password, key or token is a required variable from .env, or empty by default;
    every credential inside a URL too."""
    for name, service in _services().items():
        raw = service.get("environment") or {}
        if isinstance(raw, list):
            raw = dict(item.split("=", 1) for item in raw)
        for variable, raw_value in raw.items():
            value = str(raw_value)
            if SECRET_NAME.search(variable):
                match = INTERPOLATION.fullmatch(value)
                assert match, f"{name}: {variable} has a literal value"
                assert match.group("op") == ":?" or not match.group("arg"), (
                    f"{name}: {variable} has a default"
                )
            if "://" in value:
                password = urlsplit(value).password
                if password is not None:
                    match = INTERPOLATION.fullmatch(password)
                    assert match, f"{name}: {variable} has a literal password"
                    assert match.group("op") == ":?", f"{name}: {variable}'s password has a default"
    secrets = _compose().get("secrets") or {}
    for secret, spec in secrets.items():
        assert set(spec) == {"environment"}, f"secret {secret} must come from .env, not a file"


def test_env_example_documents_every_variable_compose_reads() -> None:
    example = _env_example()
    compose = _compose()
    read = {m.group("name") for m in INTERPOLATION.finditer(COMPOSE_FILE.read_text())}
    read |= {spec["environment"] for spec in (compose.get("secrets") or {}).values()}
    assert read <= set(example), f"not in .env.example: {sorted(read - set(example))}"
    assert set(example) <= read, f"compose never reads: {sorted(set(example) - read)}"
    # Each one is explained: a comment comes before it (one comment may cover a group).
    previous = ""
    for line in ENV_EXAMPLE.read_text().splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            assert previous.startswith("#") or "=" in previous, f"{stripped} is not explained"
        if stripped:
            previous = stripped


def test_env_example_names_only_settings_and_holds_no_secret() -> None:
    example = _env_example()
    known = _settings_env_names()
    clinic = {name for name in example if name.startswith("CLINIC_")}
    assert clinic <= known, f"not fields of infra.settings.Settings: {sorted(clinic - known)}"
    assert set(example) >= REQUIRED, f"missing: {sorted(REQUIRED - set(example))}"
    for name, value in example.items():
        if name in REQUIRED or SECRET_NAME.search(name):
            # Empty: a placeholder like `change-me` would be a known value if left in place.
            assert value == "", f".env.example gives {name} a value"
    text = ENV_EXAMPLE.read_text()
    assert "openssl rand -hex 32" in text


def test_every_clinic_variable_in_compose_and_env_example_is_a_setting() -> None:
    known = _settings_env_names()
    names = set(re.findall(r"\bCLINIC_[A-Z0-9_]+", COMPOSE_FILE.read_text()))
    names |= {name for name in _env_example() if name.startswith("CLINIC_")}
    assert not names - known, f"not fields of infra.settings.Settings: {sorted(names - known)}"
    assert "CLINIC_ACCESS_LOG_VERIFY_SECONDS" in names


def test_the_env_file_is_not_committed() -> None:
    ignored = {line.strip() for line in (ROOT / ".gitignore").read_text().splitlines()}
    assert ignored & {".env", "/.env"}, ".env must be in .gitignore"


def test_the_platform_network_has_a_pinned_gateway_for_the_trusted_proxy() -> None:
    """A TLS proxy on the host reaches the API from the compose network's gateway: pinned,
    CLINIC_TRUSTED_PROXIES can name that one address."""
    default = _compose()["networks"]["default"]
    config = default["ipam"]["config"][0]
    assert config["gateway"].startswith(config["subnet"].rsplit(".", 1)[0] + ".")
