"""Wall-clock timing of repeated calls: the one place latency and throughput are measured.

Every latency figure of the project (benchmark rows, the CLI's ``benchmark``, the compression
stages' PyTorch and ONNX Runtime timings) is :func:`latency_ms` of :func:`time_calls`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np


def time_calls(call: Callable[[], object], runs: int, warmup: int) -> list[float]:
    """Seconds of each of ``runs`` calls, after ``warmup`` untimed ones."""
    for _ in range(warmup):
        call()
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    return seconds


def latency_ms(seconds: list[float]) -> dict[str, float]:
    """p50/p90/p99 and mean of call times, in milliseconds."""
    ms = np.asarray(seconds) * 1000.0
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p90_ms": float(np.percentile(ms, 90)),
        "p99_ms": float(np.percentile(ms, 99)),
        "mean_ms": float(ms.mean()),
    }


def measure_latency(
    predict: Callable[[Any], object], batch: Any, warmup: int, repeats: int
) -> dict[str, float]:
    """Percentiles of the wall time of ``predict(batch)`` over ``repeats`` calls after ``warmup`` calls."""
    return latency_ms(time_calls(lambda: predict(batch), repeats, warmup))


def interleaved_latency(
    calls: Mapping[str, Callable[[], object]], runs: int, warmup: int, rounds: int
) -> dict[str, dict[str, float]]:
    """:func:`latency_ms` of each call, timed in ``rounds`` interleaved rounds of ``runs // rounds``
    calls each, so load from other processes falls on every call alike."""
    for call in calls.values():
        time_calls(call, 0, warmup)
    seconds: dict[str, list[float]] = {name: [] for name in calls}
    per_round = max(1, runs // rounds)
    for _ in range(rounds):
        for name, call in calls.items():
            seconds[name] += time_calls(call, per_round, 0)
    return {name: latency_ms(s) for name, s in seconds.items()}


def measure_throughput(predict: Callable[[Any], object], batch: Any, seconds: float) -> float:
    """Images/s of ``predict(batch)``: one warm-up call, then calls until ``seconds`` have passed."""
    predict(batch)
    calls, start = 0, time.perf_counter()
    while True:
        predict(batch)
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return calls * len(batch) / elapsed
