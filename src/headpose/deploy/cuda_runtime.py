"""PyTorch CUDA inference: the GPU path that exists without TensorRT.

FP16 (or FP32) weights on the GPU, a pool of CUDA streams so host-to-device copies, kernels and
device-to-host copies of consecutive batches overlap, and optionally ``torch.compile`` and CUDA
graphs (one graph per batch size, captured on first use) to remove per-call launch overhead.
On a machine without a CUDA GPU :func:`cuda_unavailable_reason` says so and callers skip.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

import numpy as np
import torch
from torch import nn

from headpose.errors import ConfigError, HeadposeError

DTYPES = {"fp16": torch.float16, "fp32": torch.float32}


def cuda_unavailable_reason() -> str | None:
    if not torch.cuda.is_available():
        built = f"built with CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        return f"no CUDA GPU visible to PyTorch (torch {torch.__version__}, {built})"
    return None


class CudaPredictor:
    """``predict(batch)`` maps float32 (N, 3, S, S) host arrays to (N, 3) degrees on a CUDA GPU."""

    def __init__(
        self,
        model: nn.Module,
        precision: str = "fp16",
        streams: int = 2,
        compile: bool = False,
        cuda_graphs: bool = False,
    ) -> None:
        reason = cuda_unavailable_reason()
        if reason:
            raise HeadposeError(f"CUDA inference unavailable: {reason}")
        if precision not in DTYPES:
            raise ConfigError(f"cuda precision {precision!r} is not one of {sorted(DTYPES)}")
        if streams < 1:
            raise ConfigError(f"cuda streams must be >= 1, got {streams}")
        self.device = torch.device("cuda", torch.cuda.current_device())
        self.dtype = DTYPES[precision]
        # A copy: .to() is in place, and the caller's CPU model must stay usable.
        module = copy.deepcopy(model).eval().to(self.device, self.dtype)
        self._forward = torch.compile(module) if compile else module
        self.streams = [torch.cuda.Stream(self.device) for _ in range(streams)]
        self.cuda_graphs = cuda_graphs
        self._graphs: dict[tuple[int, ...], tuple[torch.cuda.CUDAGraph, torch.Tensor, torch.Tensor]] = {}

    def _angles(self, x: torch.Tensor) -> torch.Tensor:
        out = self._forward(x)
        return out["angles"] if isinstance(out, dict) else out

    def _graphed(self, x: torch.Tensor, stream: torch.cuda.Stream) -> torch.Tensor:
        key = tuple(x.shape)
        if key not in self._graphs:
            static_in = torch.empty_like(x)
            static_in.copy_(x)
            # Warm up on a side stream before capture, as CUDA graph capture requires.
            side = torch.cuda.Stream(self.device)
            side.wait_stream(stream)
            with torch.cuda.stream(side):
                for _ in range(3):
                    self._angles(static_in)
            stream.wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, stream=stream):
                static_out = self._angles(static_in)
            self._graphs[key] = (graph, static_in, static_out)
        graph, static_in, static_out = self._graphs[key]
        static_in.copy_(x)
        graph.replay()
        return static_out.clone()

    @torch.inference_mode()
    def predict_many(self, batches: Iterable[np.ndarray]) -> list[np.ndarray]:
        """Run batches round-robin over the stream pool; results come back in order."""
        pending = []
        for i, batch in enumerate(batches):
            stream = self.streams[i % len(self.streams)]
            host = torch.from_numpy(np.ascontiguousarray(batch, np.float32)).pin_memory()
            with torch.cuda.stream(stream):
                x = host.to(self.device, non_blocking=True).to(self.dtype)
                angles = self._graphed(x, stream) if self.cuda_graphs else self._angles(x)
                result = torch.empty(angles.shape, dtype=torch.float32, pin_memory=True)
                result.copy_(angles.float(), non_blocking=True)
                done = torch.cuda.Event()
                done.record(stream)
            pending.append((done, result, host))
        outputs = []
        for done, result, _host in pending:  # host kept alive until its copy has completed
            done.synchronize()
            outputs.append(result.numpy())
        return outputs

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return self.predict_many([batch])[0]
