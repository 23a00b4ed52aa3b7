import numpy as np
import pytest

from headpose.timing import interleaved_latency, latency_ms, measure_latency, measure_throughput, time_calls


def test_latency_percentiles_are_in_milliseconds():
    stats = latency_ms([0.001 * k for k in range(1, 101)])
    assert stats["p50_ms"] == pytest.approx(50.5)
    assert stats["p99_ms"] == pytest.approx(99.01)
    assert stats["mean_ms"] == pytest.approx(50.5)


def test_warmup_calls_are_made_but_not_timed():
    calls = []
    seconds = time_calls(lambda: calls.append(1), runs=5, warmup=3)
    assert len(calls) == 8 and len(seconds) == 5 and all(s >= 0 for s in seconds)


def test_latency_percentiles_are_ordered_and_counted():
    calls = []
    stats = measure_latency(
        lambda b: calls.append(len(b)), np.zeros((1, 3, 4, 4), np.float32), warmup=2, repeats=7
    )
    assert len(calls) == 9 and 0 <= stats["p50_ms"] <= stats["p90_ms"] <= stats["p99_ms"]


def test_interleaved_rounds_time_every_call_alike():
    order = []
    stats = interleaved_latency(
        {"a": lambda: order.append("a"), "b": lambda: order.append("b")}, runs=4, warmup=1, rounds=2
    )
    assert order == ["a", "b"] + ["a", "a", "b", "b"] * 2  # warm-up, then alternating rounds
    assert set(stats) == {"a", "b"} and all(s["p50_ms"] >= 0 for s in stats.values())


def test_throughput_counts_images_per_second_of_at_least_one_timed_call():
    calls = []
    rate = measure_throughput(lambda b: calls.append(len(b)), np.zeros((8, 3)), seconds=0.0)
    assert len(calls) == 2 and rate > 0  # one warm-up call, one timed call
