"""Measured latency at batch 1 on a fixed number of threads: the proof that compression pays.

Figures are percentiles (headpose.timing.latency_ms) of ``runs`` timed calls after ``warmup`` untimed ones.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from headpose.deploy.runtime import onnx_session
from headpose.timing import latency_ms, time_calls


def torch_latency(
    model: nn.Module, input_size: int, runs: int = 100, warmup: int = 10, threads: int = 1
) -> dict[str, float]:
    """PyTorch CPU latency of one image (eval mode, inference mode, ``threads`` intra-op threads)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    was_training = model.training
    model.eval()
    x = torch.randn(1, 3, input_size, input_size)
    try:
        with torch.inference_mode():
            return latency_ms(time_calls(lambda: model(x), runs, warmup))
    finally:
        torch.set_num_threads(previous)
        model.train(was_training)


def onnx_latencies(
    paths: dict[str, Path],
    input_size: int,
    runs: int = 200,
    warmup: int = 20,
    threads: int = 1,
    rounds: int = 5,
) -> dict[str, dict[str, float]]:
    """ONNX Runtime CPU latency of each model with ``threads`` intra-op threads, measured in
    interleaved rounds so load from other processes falls on every model alike."""
    sessions = {name: onnx_session(path, threads) for name, path in paths.items()}
    x = np.random.default_rng(0).standard_normal((1, 3, input_size, input_size), np.float32)
    feeds = {name: {s.get_inputs()[0].name: x} for name, s in sessions.items()}
    for name, session in sessions.items():
        for _ in range(warmup):
            session.run(None, feeds[name])
    seconds: dict[str, list[float]] = {name: [] for name in sessions}
    per_round = max(1, runs // rounds)
    for _ in range(rounds):
        for name, session in sessions.items():
            for _ in range(per_round):
                start = time.perf_counter()
                session.run(None, feeds[name])
                seconds[name].append(time.perf_counter() - start)
    return {name: latency_ms(s) for name, s in seconds.items()}
