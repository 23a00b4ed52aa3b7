import pytest

from headpose.timing import latency_ms, time_calls


def test_latency_percentiles_are_in_milliseconds():
    stats = latency_ms([0.001 * k for k in range(1, 101)])
    assert stats["p50_ms"] == pytest.approx(50.5)
    assert stats["p99_ms"] == pytest.approx(99.01)
    assert stats["mean_ms"] == pytest.approx(50.5)


def test_warmup_calls_are_made_but_not_timed():
    calls = []
    seconds = time_calls(lambda: calls.append(1), runs=5, warmup=3)
    assert len(calls) == 8 and len(seconds) == 5 and all(s >= 0 for s in seconds)
