"""A failure that repeats at every poll (the store away) is logged once in full, then one line
a minute, and its end is said: not a traceback every two seconds."""

from __future__ import annotations

import logging

import pytest

from backend.services.background_tasks import QuietFailures


def test_a_repeated_failure_is_logged_once_in_full_then_briefly_and_its_end_is_said(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = [1000.0]
    failures = QuietFailures(logging.getLogger("quiet-test"), "claiming a job", every_s=60, clock=lambda: clock[0])
    with caplog.at_level(logging.INFO, logger="quiet-test"):
        for _ in range(30):  # a minute of polls every 2 s
            failures.failed(ConnectionError("store gone"))
            clock[0] += 2
        failures.failed(ConnectionError("store gone"))
        failures.succeeded()
        failures.succeeded()
    records = [(r.levelname, r.getMessage(), r.exc_info is not None) for r in caplog.records]
    assert records == [
        ("ERROR", "claiming a job failed", True),
        ("ERROR", "claiming a job still failing (31 times in 60 s): store gone", False),
        ("WARNING", "claiming a job works again after 31 failure(s)", False),
    ]
