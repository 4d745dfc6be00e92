"""Shared timing helper for the micro-benchmarks in bench/."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_ms(action: Callable[[], object], repeat: int, number: int) -> float:
    """Median over `repeat` rounds of the mean time of `number` calls, in milliseconds."""
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(number):
            action()
        timings.append((time.perf_counter() - started) / number * 1000)
    return statistics.median(timings)
