"""Run a TensorRT engine asynchronously on a CUDA stream (TensorRT >= 10 tensor API).

Buffers are torch CUDA tensors and the stream is a ``torch.cuda.Stream``, so no pycuda is needed:
``set_input_shape`` + ``set_tensor_address`` bind the tensors, ``execute_async_v3`` enqueues the
inference on the stream, and the caller synchronises only when it needs the result on the host.
The engine's metadata is checked first: an engine built on another GPU, with another TensorRT or
from another ONNX is refused with a message saying so (see tensorrt_build.check_engine_metadata).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from headpose.deploy.tensorrt_build import (
    check_engine_metadata,
    current_environment,
    tensorrt_unavailable_reason,
)
from headpose.errors import HeadposeError, ModelError


class TensorRTEngine:
    """A deserialised engine with one execution context bound to its own CUDA stream."""

    def __init__(self, engine_path: str | Path, onnx_path: str | Path | None = None) -> None:
        reason = tensorrt_unavailable_reason()
        if reason:
            raise HeadposeError(f"{engine_path}: cannot run a TensorRT engine here: {reason}")
        import tensorrt as trt
        import torch

        self.path = Path(engine_path)
        self.meta = check_engine_metadata(self.path, current_environment(), onnx_path)
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)
        self.engine = self._runtime.deserialize_cuda_engine(self.path.read_bytes())
        if self.engine is None:
            raise ModelError(f"{self.path}: TensorRT could not deserialise the engine (see the log above)")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelError(
                f"{self.path}: expected one input and one output tensor, got {inputs} -> {outputs}"
            )
        (self.input_name,), (self.output_name,) = inputs, outputs
        self._dtypes = {n: _torch_dtype(self.engine.get_tensor_dtype(n)) for n in names}
        shape = tuple(self.engine.get_tensor_shape(self.input_name))
        self.input_size = int(shape[-1])
        self.max_batch = int(self.engine.get_tensor_profile_shape(self.input_name, 0)[2][0])
        self.device = torch.device("cuda", torch.cuda.current_device())
        self.stream = torch.cuda.Stream(self.device)

    def infer_async(self, batch):
        """Enqueue inference of a CUDA tensor (N, 3, S, S) on this engine's stream; returns the output tensor.

        The output is valid once ``self.stream`` is synchronised (or after ``torch.cuda.current_stream()
        .wait_stream(self.stream)``). N must be at most the profile's max batch.
        """
        import torch

        if batch.shape[0] > self.max_batch:
            raise HeadposeError(
                f"{self.path}: batch {batch.shape[0]} exceeds the engine's max batch {self.max_batch}"
            )
        with torch.cuda.stream(self.stream):
            x = batch.to(self.device, self._dtypes[self.input_name], non_blocking=True).contiguous()
            if not self.context.set_input_shape(self.input_name, tuple(x.shape)):
                raise HeadposeError(
                    f"{self.path}: input shape {tuple(x.shape)} is outside the optimisation profile"
                )
            out = torch.empty(
                tuple(self.context.get_tensor_shape(self.output_name)),
                dtype=self._dtypes[self.output_name],
                device=self.device,
            )
            self.context.set_tensor_address(self.input_name, x.data_ptr())
            self.context.set_tensor_address(self.output_name, out.data_ptr())
            if not self.context.execute_async_v3(self.stream.cuda_stream):
                raise HeadposeError(f"{self.path}: execute_async_v3 failed")
            # x was allocated on this stream, so it stays alive until the enqueued work has read it.
            x.record_stream(self.stream)
        return out

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """float32 (N, 3, S, S) host array -> (N, 3) degrees; chunks of at most the profile's max batch."""
        import torch

        host = torch.from_numpy(np.ascontiguousarray(batch, np.float32)).pin_memory()
        chunks = [self.infer_async(host[i : i + self.max_batch]) for i in range(0, len(host), self.max_batch)]
        self.stream.synchronize()
        return torch.cat(chunks).float().cpu().numpy()


def _torch_dtype(trt_dtype):
    import tensorrt as trt
    import torch

    table = {
        trt.float32: torch.float32,
        trt.float16: torch.float16,
        trt.int8: torch.int8,
        trt.int32: torch.int32,
    }
    if trt_dtype not in table:
        raise ModelError(f"unsupported TensorRT I/O dtype {trt_dtype}")
    return table[trt_dtype]
