"""Turn any model reference into a predictor: checkpoint (.pt), ONNX (.onnx) or a registry URI.

A predictor maps float32 (N, 3, S, S) model input to (N, 3) degrees; ``input_size`` is S.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from headpose.errors import DatasetError
from headpose.evaluation import Predictor, torch_predictor


@dataclass
class LoadedModel:
    predict: Predictor
    input_size: int
    backend: str
    path: Path


def onnx_session(path: str | Path, threads: int | None = 1):
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnx_predictor(path: str | Path, threads: int | None = 1) -> LoadedModel:
    session = onnx_session(path, threads)
    model_input = session.get_inputs()[0]
    size = model_input.shape[-1]
    if not isinstance(size, int):
        raise DatasetError(f"{path}: ONNX input {model_input.name} has no fixed spatial size ({model_input.shape})")

    def predict(batch: np.ndarray) -> np.ndarray:
        return session.run(None, {model_input.name: batch.astype(np.float32, copy=False)})[0]

    return LoadedModel(predict, size, "onnxruntime", Path(path))


def resolve_model_uri(ref: str) -> Path:
    """Local path of a model reference; ``models:/name@alias`` is fetched from the MLflow registry."""
    if ref.startswith("models:/"):
        import mlflow

        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=ref))
        candidates = sorted(local.rglob("*.onnx")) or sorted(local.rglob("*.pt"))
        if not candidates:
            raise DatasetError(f"{ref}: registered model holds no .onnx or .pt file")
        return candidates[0]
    path = Path(ref)
    if not path.exists():
        raise DatasetError(f"{path}: model file not found")
    return path


def load_model(ref: str, threads: int | None = 1) -> LoadedModel:
    path = resolve_model_uri(ref)
    if path.suffix == ".onnx":
        return onnx_predictor(path, threads)
    if path.suffix == ".pt":
        import torch

        from headpose.training.checkpoint import load_checkpoint

        if threads:
            torch.set_num_threads(threads)
        checkpoint = load_checkpoint(path)
        return LoadedModel(torch_predictor(checkpoint.model), checkpoint.input_size, "pytorch", path)
    if path.suffix == ".engine":
        from headpose.deploy.tensorrt_runtime import TensorRTEngine

        engine = TensorRTEngine(path)
        return LoadedModel(engine.predict, engine.input_size, "tensorrt", path)
    raise DatasetError(f"{path}: unsupported model file (expected .pt, .onnx or .engine)")
