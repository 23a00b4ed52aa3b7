import onnx
import torch

from headpose.compression.latency import (
    InterleavedLatencyConfig,
    LatencyConfig,
    onnx_latencies,
    torch_latency,
)
from tests.compression.conftest import INPUT_SIZE, responsive_model


def test_torch_latency_restores_the_thread_count_and_training_mode():
    model = responsive_model().train()
    threads = torch.get_num_threads()
    stats = torch_latency(model, INPUT_SIZE, LatencyConfig(runs=3, warmup=1, threads=1))
    assert 0 < stats["p50_ms"] <= stats["p99_ms"]
    assert model.training and torch.get_num_threads() == threads


def test_onnx_models_are_timed_in_the_same_interleaved_rounds(tiny_onnx, tmp_path):
    paths = {}
    for name in ("a", "b"):
        paths[name] = tmp_path / f"{name}.onnx"
        onnx.save_model(tiny_onnx.proto, str(paths[name]))
    stats = onnx_latencies(paths, INPUT_SIZE, InterleavedLatencyConfig(runs=4, warmup=1, rounds=2))
    assert set(stats) == {"a", "b"} and all(s["p50_ms"] > 0 for s in stats.values())
