"""The log stream outlives whatever stderr was when logging was configured."""

from __future__ import annotations

import io
import json
import sys

import pytest

from infra.logs import configure_logging, get_logger


def test_an_entry_written_after_a_captured_cli_run_closes_its_stderr_still_reaches_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    captured = io.StringIO()
    real = sys.stderr
    sys.stderr = captured  # as a CLI runner captures the console
    try:
        configure_logging("INFO", process="api-1")
    finally:
        sys.stderr = real
        captured.close()

    get_logger("test").info("consumer started", consumer="projector.patients")

    entry = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert entry["event"] == "consumer started"
    assert entry["process"] == "api-1"
    configure_logging("INFO")
