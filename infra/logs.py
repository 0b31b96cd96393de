"""structlog set up to write one JSON object per line, with the correlation id bound.

Never pass patient data (names, phones, notes, search terms) to a logger: log ids.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog


def configure_logging(level: str = "INFO", stream: Any = None, process: str | None = None) -> None:
    """JSON lines on `stream` (stderr); `process` names this process in every entry, so the
    one stream `clinic up` gathers from its processes says which wrote what."""
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    named: list[Any] = [] if process is None else [_named(process)]
    structlog.configure(
        processors=[
            *named,
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=max(numeric, logging.WARNING), stream=stream or sys.stderr)


def _named(process: str) -> Any:
    def add_process(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
        event.setdefault("process", process)
        return event

    return add_process


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
