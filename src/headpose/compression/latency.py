"""Measured latency at batch 1 on a fixed number of threads: the proof that compression pays.

Figures are the median and 99th percentile of ``runs`` timed calls after ``warmup`` untimed ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from headpose.deploy.runtime import onnx_session


def _summary(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1e3
    return {"median_ms": float(np.median(ms)), "p99_ms": float(np.percentile(ms, 99)), "runs": float(len(ms))}


def _time_calls(call: Callable[[], object], runs: int, warmup: int) -> dict[str, float]:
    for _ in range(warmup):
        call()
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    return _summary(seconds)


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
            return _time_calls(lambda: model(x), runs, warmup)
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
    return {name: _summary(s) for name, s in seconds.items()}
