"""Configuration of every Sonrisa process, read from `CLINIC_*` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """One place for every knob; defaults run the platform on one machine."""

    model_config = SettingsConfigDict(env_prefix="CLINIC_", extra="ignore")

    database_url: str = "postgresql://127.0.0.1:5432/sonrisa"
    rabbitmq_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    mongo_url: str | None = None
    mongo_database: str = "sonrisa"
    embedded_mongo_python: Path = PROJECT_ROOT / ".venv-mongo" / "bin" / "python"
    embedded_mongo_port: int = 27117
    host: str = "127.0.0.1"
    port: int = 8000
    exchange: str = "clinic.events"
    queue_prefix: str = ""
    relay_batch_size: int = Field(default=500, ge=1, le=10_000)
    relay_poll_seconds: float = Field(default=1.0, gt=0)
    consumer_batch_size: int = Field(default=200, ge=1, le=5_000)
    consumer_batch_wait_seconds: float = Field(default=0.02, ge=0)
    consumer_attempts: int = Field(default=3, ge=1)
    read_your_writes_timeout_seconds: float = Field(default=3.0, ge=0)
    max_request_bytes: int = 64 * 1024
    event_store_pool_size: int = Field(default=2, ge=1, le=50)
    event_store_max_overflow: int = Field(default=8, ge=0, le=50)
    read_model_pool_size: int = Field(default=10, ge=2, le=100)
    command_threads: int = Field(default=4, ge=1, le=64)
    log_level: str = "INFO"
    metrics_port: int | None = None
    jwt_secret: SecretStr | None = None
    jwt_algorithm: str = "HS256"
    jwt_issuer: str = "sonrisa"
    jwt_audience: str = "sonrisa-api"
    access_token_minutes: int = Field(default=15, ge=1, le=60)
    refresh_token_days: int = Field(default=14, ge=1, le=90)
    login_failures_per_account: int = Field(default=5, ge=1)
    login_failures_per_address: int = Field(default=20, ge=1)
    login_failure_window_seconds: int = Field(default=900, ge=1)
    audit_key: SecretStr | None = None
    web_root: Path = PROJECT_ROOT / "frontend" / "dist"  # the built web app, served at `/`

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
        }

    def secret(self, name: str) -> str:
        """A signing secret; on a loopback-only API a development value stands in when unset."""
        value: SecretStr | None = getattr(self, name)
        if value is not None:
            if len(value.get_secret_value()) < 32:
                raise ValueError(f"CLINIC_{name.upper()} must have at least 32 characters")
            return value.get_secret_value()
        if self.host not in {"127.0.0.1", "localhost", "::1"}:
            raise ValueError(
                f"set CLINIC_{name.upper()} (32+ random characters): the API listens on "
                f"{self.host}, so the development value is not allowed"
            )
        return f"sonrisa-development-only-{name}-do-not-use-in-production"

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
