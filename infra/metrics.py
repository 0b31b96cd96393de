"""Prometheus metrics every process exposes; one registry, named after what they count."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Final

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.metrics_core import Metric

# Under `clinic up` each process writes its metrics to a shared folder (prometheus-client's
# multiprocess mode); a gauge then reads as the highest value among the live processes.
LIVE: Final = "livemax"

RELAY_PUBLISHED = Counter(
    "sonrisa_relay_published_total", "Events the relay published with a broker confirm", ["context"]
)
RELAY_FAILURES = Counter(
    "sonrisa_relay_failures_total", "Relay publishing rounds that failed and will be retried"
)
CONSUMED = Counter(
    "sonrisa_consumer_messages_total", "Messages a consumer finished", ["consumer", "outcome"]
)
DEAD_LETTERED = Counter(
    "sonrisa_dead_lettered_total", "Messages sent to a dead-letter queue", ["consumer"]
)
HTTP_REQUESTS = Histogram(
    "sonrisa_http_request_seconds",
    "HTTP requests by route and status",
    ["method", "route", "status"],
)
PARKED_EVENTS = Counter(
    "sonrisa_projection_parked_events_total",
    "Events a projection could not apply, or held back behind one it could not apply",
    ["projection"],
)
STUCK_AGGREGATES = Gauge(
    "sonrisa_projection_stuck_aggregates",
    "Aggregates parked in a read model until `clinic projections retry`",
    ["projection"],
    multiprocess_mode=LIVE,
)
STORE_OUTAGE = Gauge(
    "sonrisa_consumer_store_outage",
    "1 while a consumer waits out a fault of its store (away, full, corrupt), else 0",
    ["consumer"],
    multiprocess_mode=LIVE,
)
STORE_OUTAGE_RETRIES = Counter(
    "sonrisa_consumer_store_outage_retries_total",
    "Batches a consumer held and tried again because its store failed, by error type",
    ["consumer", "error_type"],
)
BROKER_CONNECTION_EVENTS = Counter(
    "sonrisa_broker_connection_events_total",
    "RabbitMQ connections lost and regained, per part (relay, each consumer)",
    ["part", "event"],
)
SIGN_IN_THROTTLED = Counter(
    "sonrisa_sign_in_throttled_total",
    "Sign-in tries refused (account-address, address) or slowed down (account-slowdown)",
    ["limit"],
)
MESSAGES_REFUSED = Counter(
    "sonrisa_free_text_messages_refused_total",
    "Free-text messages refused: the sender's or the patient's limit was reached",
    ["limit"],
)
CALENDAR_FEED_READS_REFUSED = Counter(
    "sonrisa_calendar_feed_reads_refused_total",
    "Calendar feed reads refused: the token's or the address's hourly limit was reached",
    ["limit"],
)
REMINDERS_SENT = Counter(
    "sonrisa_reminders_sent_total", "Reminders handed to a provider, per channel", ["channel"]
)
REMINDERS_FAILED = Counter(
    "sonrisa_reminders_failed_total",
    "Reminder send attempts that failed, per channel (final: no attempt left)",
    ["channel", "final"],
)
REMINDERS_SKIPPED = Counter(
    "sonrisa_reminders_skipped_total", "Reminders not sent, per reason", ["reason"]
)
REMINDERS_DUE = Gauge(
    "sonrisa_reminders_due", "Reminders due and not yet sent", multiprocess_mode=LIVE
)
REMINDERS_OLDEST_DUE = Gauge(
    "sonrisa_reminders_oldest_due_seconds",
    "How long the oldest due reminder has waited",
    multiprocess_mode=LIVE,
)
INVENTORY_ALERTS = Gauge(
    "sonrisa_inventory_alerts",
    "Inventory alerts open now, per kind (below_reorder_point, expiring, expired, discrepancies)",
    ["kind"],
    multiprocess_mode=LIVE,
)
SIGN_IN_FAILURES = Counter(
    "sonrisa_sign_in_failures_total",
    "Sign-ins refused: a wrong email or password (credentials), or a wrong code (second-factor)",
    ["reason"],
)
RELAY_LAG = Gauge(
    "sonrisa_relay_lag_events",
    "Events in the store the relay has not yet published, per context (the leader's view)",
    ["context"],
    multiprocess_mode=LIVE,
)
PROJECTION_LAG = Gauge(
    "sonrisa_projection_lag_events",
    "Events in the store a read model has not yet applied",
    ["projection"],
    multiprocess_mode=LIVE,
)
ACCESS_LOG_VERIFICATION_FAILURES = Counter(
    "sonrisa_access_log_verification_failures_total",
    "Walks of the access log's chain that found an entry changed, removed or inserted",
)
ACCESS_LOG_LAST_VERIFIED = Gauge(
    "sonrisa_access_log_last_verified_timestamp_seconds",
    "When the access log's chain was last walked and found intact (Unix time)",
    multiprocess_mode=LIVE,
)
ACCESS_LOG_VERIFIED_ENTRIES = Gauge(
    "sonrisa_access_log_verified_entries",
    "Entries the last walk of the access log's chain found intact",
    multiprocess_mode=LIVE,
)
COMMANDS_REFUSED = Counter(
    "sonrisa_commands_refused_total",
    "Writes answered 503 at once because too many were in progress (overload)",
)


def consumers_in_store_outage() -> list[str]:
    """The consumers, in every process of this platform, now waiting out a fault of their
    store: read from the shared multiprocess folder under `clinic up` (so the API's
    /readyz sees the projector processes'), else from this process's own registry."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    registry: CollectorRegistry = REGISTRY
    if folder:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=folder)  # type: ignore[no-untyped-call]
    return sorted(
        sample.labels["consumer"]
        for metric in registry.collect()
        if metric.name == "sonrisa_consumer_store_outage"
        for sample in metric.samples
        if sample.value >= 1
    )


class EveryProcess:
    """The metrics page of a platform of processes: what every process counted (from the
    shared multiprocess folder), and every metric the platform declares by name even before
    its first sample. A labelled counter has no sample until it first counts, and the
    multiprocess folder then knows nothing of it; an alert or a dashboard that names it
    would look exactly like one that names a metric that does not exist."""

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def collect(self) -> Iterator[Metric]:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=self.folder)  # type: ignore[no-untyped-call]
        seen: set[str] = set()
        for family in registry.collect():
            seen.add(family.name)
            yield family
        for declared in DECLARED:
            for family in declared.describe():
                if family.name not in seen:
                    yield family


DECLARED: Final = tuple(m for m in list(globals().values()) if isinstance(m, MetricWrapperBase))
