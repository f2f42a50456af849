"""Peak resident memory of this process while something runs (tests and benchmarks)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

import psutil

T = TypeVar("T")


def peak_rss_during(action: Callable[[], T]) -> tuple[int, T]:
    """(highest RSS in bytes seen while ``action`` ran, sampled every 5 ms; its return value)."""
    process = psutil.Process()
    peak = process.memory_info().rss
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        value = action()
    finally:
        done.set()
        sampler.join()
    return max(peak, process.memory_info().rss), value
