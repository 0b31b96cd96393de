"""Configuration of every Sonrisa process, read from `CLINIC_*` environment variables."""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from infra.keys import (
    PURPOSE,
    PURPOSES,
    Keyring,
    MissingSecrets,
    UnsafeSecrets,
    comma_separated,
    read_secrets_file,
    variable,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


# The longest address (path and query string, as sent) the API reads; longer is refused
# with 400 (api/middleware.py). RFC 9112 asks servers for at least 8000 octets. It bounds
# every path and query parameter the OpenAPI document describes.
MAX_TARGET_LENGTH = 8192


class Settings(BaseSettings):
    """One place for every knob; defaults run the platform on one machine."""

    model_config = SettingsConfigDict(env_prefix="CLINIC_", extra="ignore")

    database_url: str = "postgresql://127.0.0.1:5432/sonrisa"
    rabbitmq_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    mongo_url: str | None = None
    mongo_database: str = "sonrisa"
    embedded_mongo_python: Path = PROJECT_ROOT / ".venv-mongo" / "bin" / "python"
    embedded_mongo_port: int = 27117
    # Where the embedded server keeps its documents, so a restart resumes instead of
    # rebuilding; empty for memory only.
    embedded_mongo_data: Path | None = PROJECT_ROOT / ".clinic-data" / "mongo.sqlite3"
    # Where access-log entries wait, fsynced, while PostgreSQL cannot take them (one folder
    # per database under it); it must outlive the process, like the database itself.
    access_log_held_dir: Path = PROJECT_ROOT / ".clinic-data" / "access-log-held"
    host: str = "127.0.0.1"
    port: int = 8000
    # Proxies (addresses or networks, comma-separated) whose X-Forwarded-For/-Proto the API
    # believes; by default none, so a client's address is the socket's peer, always.
    trusted_proxies: str = ""
    exchange: str = "clinic.events"
    queue_prefix: str = ""
    relay_batch_size: int = Field(default=500, ge=1, le=10_000)
    relay_poll_seconds: float = Field(default=1.0, gt=0)
    consumer_batch_size: int = Field(default=200, ge=1, le=5_000)
    consumer_batch_wait_seconds: float = Field(default=0.02, ge=0)
    consumer_attempts: int = Field(default=3, ge=1)
    read_your_writes_timeout_seconds: float = Field(default=3.0, ge=0)
    max_request_bytes: int = 64 * 1024
    # Commands run in `command_threads` threads: an Application never needs more connections.
    event_store_pool_size: int = Field(default=1, ge=1, le=50)
    event_store_max_overflow: int = Field(default=4, ge=0, le=50)
    read_model_pool_size: int = Field(default=10, ge=2, le=100)
    command_threads: int = Field(default=4, ge=1, le=64)
    # Past this many writes in progress in one API process, the next gets 503 with
    # Retry-After at once instead of a place in an endless queue.
    max_commands_in_flight: int = Field(default=32, ge=1, le=10_000)
    log_level: str = "INFO"
    # `clinic up` runs each part as a process of its own: this many API processes (sharing
    # the port) and this many projector processes; unset, half the machine's cores.
    api_processes: int | None = Field(default=None, ge=1, le=64)
    projector_processes: int | None = Field(default=None, ge=1, le=64)
    # How long a stopping process may take before it is killed.
    stop_grace_seconds: float = Field(default=10.0, gt=0)
    # Set by `clinic up` for the processes it starts: it made the schemas itself, it names
    # each process in the logs, and several API processes share one port.
    migrate_on_start: bool = True
    process_name: str | None = None
    reuse_port: bool = False
    # Prometheus metrics on a port of their own, never on the API's; off when unset.
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    # OpenTelemetry traces, sent over OTLP/HTTP to this URL (a collector's
    # http://HOST:4318/v1/traces); no traces are made while it is unset (infra/tracing.py).
    otlp_endpoint: str | None = None
    # Keys (infra/keys.py): each 32+ random characters; previous ones comma-separated. With
    # none set, they come from `secrets_file`, which `make run` creates on its first run.
    jwt_secret: SecretStr | None = None
    jwt_previous_secrets: SecretStr | None = None
    audit_key: SecretStr | None = None
    audit_previous_keys: SecretStr | None = None
    data_key: SecretStr | None = None
    data_previous_keys: SecretStr | None = None
    link_key: SecretStr | None = None
    link_previous_keys: SecretStr | None = None
    secrets_file: Path = PROJECT_ROOT / ".clinic-secrets"
    jwt_algorithm: str = "HS256"
    jwt_issuer: str = "sonrisa"
    jwt_audience: str = "sonrisa-api"
    access_token_minutes: int = Field(default=15, ge=1, le=60)
    refresh_token_days: int = Field(default=14, ge=1, le=90)
    # The sign-in throttle (ADR 8): hard limits per account and address and per address; for
    # an account from everywhere only a slow-down that grows up to the maximum, never a lock.
    login_failures_per_account_address: int = Field(default=5, ge=1)
    login_failures_per_address: int = Field(default=20, ge=1)
    login_failures_per_account: int = Field(default=10, ge=1)
    login_slowdown_seconds: float = Field(default=1.0, ge=0)
    login_slowdown_max_seconds: float = Field(default=5.0, ge=0)
    login_failure_window_seconds: int = Field(default=900, ge=1)
    web_root: Path = PROJECT_ROOT / "frontend" / "dist"  # the built web app, served at `/`
    # Reminders (issue 10). Email over SMTP: tls is "auto" (STARTTLS when offered), "starttls",
    # "tls" (implicit, port 465) or "none". SMS/WhatsApp through an HTTP provider: "twilio"
    # (Twilio-compatible REST) or "webhook" (JSON, HMAC-SHA256 signed); off while sms_url is unset.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_tls: str = Field(default="auto", pattern="^(auto|starttls|tls|none)$")
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_sender: str = "Sonrisa <reminders@localhost>"
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    sms_url: str | None = None
    sms_provider: str = Field(default="twilio", pattern="^(twilio|webhook)$")
    sms_account: str = ""
    sms_token: SecretStr | None = None
    sms_sender: str = ""
    # Where patients' confirm and cancel links point (the API's public address).
    public_url: str = "http://127.0.0.1:8000"
    reminder_link_days: int = Field(default=14, ge=1, le=90)
    reminders_poll_seconds: float = Field(default=1.0, gt=0)
    reminders_batch_size: int = Field(default=50, ge=1, le=1000)
    # Reminders a worker has in the mail server's or SMS provider's hands at once (one SMTP
    # connection each); a worker killed mid-batch may send at most this many twice (ADR 12).
    reminders_in_flight: int = Field(default=4, ge=1, le=32)
    reminders_lease_seconds: float = Field(default=120.0, gt=0)
    reminders_retry_first_seconds: float = Field(default=60.0, gt=0)
    reminders_retry_longest_seconds: float = Field(default=3600.0, gt=0)
    reminders_attempts: int = Field(default=6, ge=1, le=50)
    # Lots expiring within this many days are an inventory alert; the inventory worker counts
    # the alerts for /metrics this often.
    inventory_expiring_days: int = Field(default=60, ge=1, le=730)
    inventory_alerts_seconds: float = Field(default=30.0, gt=0)
    # The audit worker walks the access log's whole chain this often and says in /metrics
    # what it found (sonrisa_access_log_*): a changed, removed or inserted entry pages someone.
    access_log_verify_seconds: float = Field(default=3600.0, ge=1)
    # Free-text messages staff send now (issue 15), counted in PostgreSQL so every API process
    # shares them. A desk writes the odd "running late" or "bring your X-rays": 20 an hour is
    # more than a busy desk sends, yet caps what a stolen desk account can send from the
    # clinic's sender. A patient needs a few a day at most; more is a loop or harassment.
    free_text_messages_per_sender_per_hour: int = Field(default=20, ge=1, le=1000)
    free_text_messages_per_patient_per_day: int = Field(default=3, ge=1, le=100)
    # Reads of a provider's calendar feed (issue 21), counted in PostgreSQL over an hour. A
    # calendar app polls every 5 to 60 minutes; a provider with a phone, a tablet and a laptop
    # stays well under 60. One address may carry a whole clinic's devices behind its router.
    calendar_feed_reads_per_token_per_hour: int = Field(default=60, ge=1, le=10_000)
    calendar_feed_reads_per_address_per_hour: int = Field(default=600, ge=1, le=100_000)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for entry in comma_separated(value):
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an address or network: name each proxy, never '*'"
                ) from None
        return value

    def trusted_proxy_list(self) -> list[str]:
        return comma_separated(self.trusted_proxies)

    def postgres_env(self) -> dict[str, str]:
        """The database URL spelled as eventsourcing's POSTGRES_* settings."""
        url = urlsplit(self.database_url)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": url.path.lstrip("/") or "sonrisa",
            "POSTGRES_HOST": url.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": unquote(url.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(url.password or ""),
            "POSTGRES_POOL_SIZE": str(self.event_store_pool_size),
            "POSTGRES_MAX_OVERFLOW": str(self.event_store_max_overflow),
            "POSTGRES_LOCK_TIMEOUT": "5",
            # The processes `clinic up` starts find the tables made: DDL from several
            # processes at once collides ("tuple concurrently updated").
            "CREATE_TABLE": "yes" if self.migrate_on_start else "no",
        }

    def keyring(self, purpose: str) -> Keyring:
        """The keys for `purpose` (jwt, audit, data): from the settings when its current key
        is set there, else from the secrets file. No key, no start: there is no default."""
        chosen = PURPOSE[purpose]
        current: SecretStr | None = getattr(self, chosen.current)
        if current is not None:
            previous: SecretStr | None = getattr(self, chosen.previous)
            return Keyring.of(
                purpose,
                current.get_secret_value(),
                comma_separated(previous.get_secret_value() if previous else None),
            )
        stored = read_secrets_file(self.secrets_file)
        if not stored.get(variable(chosen.current)):
            raise MissingSecrets(
                f"no {purpose} key: set {variable(chosen.current)} (32+ random characters; "
                f"it {chosen.meaning}), or run `clinic secrets init` (`make run` does) to "
                f"create {self.secrets_file}"
            )
        return Keyring.of(
            purpose,
            stored[variable(chosen.current)],
            comma_separated(stored.get(variable(chosen.previous))),
        )

    def keyrings(self) -> dict[str, Keyring]:
        """Every purpose's keys, checked: present, long enough, and none used for two purposes."""
        rings: dict[str, Keyring] = {}
        owner: dict[str, str] = {}
        for purpose in PURPOSES:
            name = purpose.name
            ring = rings[name] = self.keyring(name)
            for kid in ring.keys:
                if kid in owner:
                    raise UnsafeSecrets(
                        f"the same key ({kid}) is used for {owner[kid]} and {name}: give "
                        "each purpose its own"
                    )
                owner[kid] = name
        return rings

    def environment(self) -> dict[str, str]:
        """These settings as the `CLINIC_*` variables a child `clinic` process reads."""
        variables: dict[str, str] = {}
        for name, value in self.model_dump().items():
            if value is None:
                continue
            text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
            variables[f"CLINIC_{name.upper()}"] = text
        variables["CLINIC_MONGO_URL"] = self.effective_mongo_url()
        return variables

    def effective_mongo_url(self) -> str:
        """The configured MongoDB, or the embedded wire server that `clinic up` starts."""
        return self.mongo_url or (
            f"mongodb://127.0.0.1:{self.embedded_mongo_port}/?directConnection=true"
        )

    def queue_name(self, consumer: str) -> str:
        return f"{self.queue_prefix}{consumer}"

    def access_log_held_folder(self) -> Path:
        """This database's own folder: two platforms on one machine never mix their entries."""
        url = urlsplit(self.database_url)
        place = f"{url.hostname or 'local'}-{url.port or 5432}-{url.path.lstrip('/') or 'postgres'}"
        return self.access_log_held_dir / re.sub(r"[^A-Za-z0-9._-]", "_", place)

    def asyncpg_dsn(self) -> str:
        """asyncpg needs a user even with trust auth; default to postgres like psql does."""
        url = urlsplit(self.database_url)
        if url.username:
            return self.database_url
        netloc = f"postgres@{url.netloc}"
        return url._replace(netloc=netloc).geturl()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
