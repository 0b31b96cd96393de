"""structlog set up to write one JSON object per line, with the correlation id bound.

Never pass patient data (names, phones, notes, search terms) to a logger: log ids.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO, cast

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
        logger_factory=structlog.PrintLoggerFactory(stream or _STDERR),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=max(numeric, logging.WARNING), stream=stream or _STDERR)


class _CurrentStderr:
    """Whatever `sys.stderr` is when an entry is written, not when logging was configured: a
    CLI run under a captured stderr (a test's CliRunner) closes that capture afterwards, and a
    logger bound to it would fail every later entry with "I/O operation on closed file"."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


_STDERR = cast(TextIO, _CurrentStderr())  # print() needs only write and flush


def _named(process: str) -> Any:
    def add_process(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
        event.setdefault("process", process)
        return event

    return add_process


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
