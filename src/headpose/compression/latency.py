"""Measured latency at batch 1 on a fixed number of threads: the proof that compression pays.

Figures are percentiles (headpose.timing) of ``runs`` timed calls after ``warmup`` untimed ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from headpose.config import Config, knob
from headpose.deploy.runtime import onnx_session
from headpose.timing import interleaved_latency, measure_latency


@dataclass(frozen=True)
class LatencyConfig(Config, section="latency"):
    """How PyTorch CPU latency is timed (``prune.latency``, ``distill.latency``)."""

    runs: int = knob(100, lo=1)
    warmup: int = knob(10, lo=0)
    threads: int = knob(1, lo=1)


@dataclass(frozen=True)
class InterleavedLatencyConfig(Config, section="latency"):
    """How ONNX Runtime latency is timed when models are compared (``quantize.latency``)."""

    runs: int = knob(200, lo=1)
    warmup: int = knob(20, lo=0)
    threads: int = knob(1, lo=1)
    rounds: int = knob(5, lo=1)  # interleaved rounds: load from other processes falls on every model alike


def torch_latency(model: nn.Module, input_size: int, latency: LatencyConfig) -> dict[str, float]:
    """PyTorch CPU latency of one image (eval mode, inference mode, ``latency.threads`` intra-op threads)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(latency.threads)
    was_training = model.training
    model.eval()
    x = torch.randn(1, 3, input_size, input_size)
    try:
        with torch.inference_mode():
            return measure_latency(model, x, latency.warmup, latency.runs)
    finally:
        torch.set_num_threads(previous)
        model.train(was_training)


def onnx_latencies(
    paths: dict[str, Path], input_size: int, latency: InterleavedLatencyConfig
) -> dict[str, dict[str, float]]:
    """ONNX Runtime CPU latency of each model with ``latency.threads`` intra-op threads, measured in
    interleaved rounds."""
    sessions = {name: onnx_session(path, latency.threads) for name, path in paths.items()}
    x = np.random.default_rng(0).standard_normal((1, 3, input_size, input_size), np.float32)

    def call(session):
        feed = {session.get_inputs()[0].name: x}
        return lambda: session.run(None, feed)

    calls = {name: call(session) for name, session in sessions.items()}
    return interleaved_latency(calls, latency.runs, latency.warmup, latency.rounds)
