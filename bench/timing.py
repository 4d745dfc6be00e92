"""Shared timing helper for the micro-benchmarks in bench/."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable


def median_ms(action: Callable[[], object], repeat: int, number: int) -> float:
    """Median over `repeat` rounds of the mean time of `number` calls, in milliseconds."""
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(number):
            action()
        timings.append((time.perf_counter() - started) / number * 1000)
    return statistics.median(timings)


async def alternating_rates(
    kinds: tuple[str, ...], runs: int, measure: Callable[[str, int], Awaitable[float]]
) -> dict[str, list[float]]:
    """msg/s of each kind over `runs` runs (`measure(kind, run)`), the order reversed every
    other run so machine noise hits all kinds alike; each rate printed as it comes."""
    rates: dict[str, list[float]] = {kind: [] for kind in kinds}
    width = max(map(len, kinds))
    for run in range(1, runs + 1):
        for kind in kinds if run % 2 else tuple(reversed(kinds)):
            rate = await measure(kind, run)
            rates[kind].append(rate)
            print(f"run {run} {kind:{width}s} {rate:8.1f} msg/s", flush=True)
    return rates


def print_medians(rates: dict[str, list[float]], baseline: str, label: str) -> dict[str, float]:
    """The median msg/s of each kind and its ratio to `baseline` (called `label`)."""
    median = {kind: statistics.median(values) for kind, values in rates.items()}
    width = max(map(len, rates))
    for kind, value in median.items():
        print(
            f"median {kind:{width}s} {value:8.1f} msg/s  ({value / median[baseline]:.2f}x {label})"
        )
    return median
