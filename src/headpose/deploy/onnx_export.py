"""ONNX export: one file per model, input ``image`` (N, 3, S, S) float32, output ``angles`` (N, 3) degrees.

The batch axis is dynamic; the spatial size is fixed at the model's input size (runtime.onnx_predictor
reads it back from the graph). Export goes through ``torch.onnx.export(dynamo=True)`` at the
exporter's current opset, then onnxslim and onnx.checker; the file is written to a temporary sibling
and renamed, so a failed export leaves nothing behind.
"""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import onnx
import torch
from kedro.io import AbstractDataset
from torch import nn

from headpose.deploy.runtime import onnx_predictor, with_metadata
from headpose.errors import DatasetError, GateError, HeadposeError
from headpose.evaluation import torch_predictor
from headpose.io import atomic_path
from headpose.models import AnglesOnly

INPUT_NAME, OUTPUT_NAME = "image", "angles"


def _model_name(model: nn.Module) -> str:
    spec = getattr(model, "spec", None)
    return str(spec.get("name")) if isinstance(spec, dict) else type(model).__name__


def weights_digest(model: nn.Module) -> str:
    """sha256 of a model's weights (state_dict names, dtypes, shapes and bytes): what an exported
    ONNX records as ``headpose.weights_sha256`` and the registry checks against its checkpoint."""
    model = model.model if isinstance(model, AnglesOnly) else model
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        data = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{data.dtype}:{tuple(data.shape)}".encode())
        digest.update(data.reshape(-1).view(torch.uint8).numpy().tobytes() if data.numel() else b"")
    return digest.hexdigest()


def to_onnx_proto(
    model: nn.Module, input_size: int, opset: int | None = None, simplify: bool = True
) -> onnx.ModelProto:
    """The checked ONNX graph of ``AnglesOnly(model)`` with a dynamic batch axis."""
    wrapper = model if isinstance(model, AnglesOnly) else AnglesOnly(model)
    was_training = wrapper.training
    wrapper.eval()
    # Batch 2, not 1: the exporter would specialise a batch of 1 into the graph.
    example = torch.zeros(2, 3, input_size, input_size, dtype=torch.float32)
    try:
        program = torch.onnx.export(
            wrapper,
            (example,),
            dynamo=True,
            opset_version=opset,
            verbose=False,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes=({0: torch.export.Dim("batch")},),
        )
        proto = program.model_proto
    except Exception as exc:
        raise HeadposeError(
            f"ONNX export of {_model_name(model)} failed ({exc.__class__.__name__}: {exc})"
        ) from exc
    finally:
        wrapper.train(was_training)
    if simplify:
        import onnxslim

        proto = onnxslim.slim(proto)
    onnx.checker.check_model(proto, full_check=True)
    return with_metadata(proto, {"weights_sha256": weights_digest(wrapper.model)}, overwrite=True)


def save_onnx(proto: onnx.ModelProto, path: str | Path) -> Path:
    """Check ``proto`` and write it as one self-contained file (no external data), atomically."""
    path = Path(path)
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as exc:
        raise HeadposeError(f"{path}: refusing to write an invalid ONNX model: {exc}") from exc
    with atomic_path(path) as tmp:
        onnx.save_model(proto, str(tmp), save_as_external_data=False)
    return path


def export_onnx(
    model: nn.Module, input_size: int, path: str | Path, opset: int | None = None, simplify: bool = True
) -> Path:
    """Export ``model`` to ``path`` (see the module docstring); returns the path."""
    return save_onnx(to_onnx_proto(model, input_size, opset, simplify), path)


def check_parity(
    model: nn.Module, onnx_path: str | Path, batch: np.ndarray, tol_deg: float = 0.01
) -> dict[str, float]:
    """Largest |angle| difference between PyTorch and ONNX Runtime on ``batch`` (float32 model input).

    Raises GateError when it exceeds ``tol_deg``.
    """
    batch = np.ascontiguousarray(batch, np.float32)
    expected = torch_predictor(model)(batch)
    actual = onnx_predictor(onnx_path, threads=1).predict(batch)
    diff = np.abs(actual.astype(np.float64) - expected)
    report = {
        "max_abs_diff_deg": float(diff.max()),
        "mean_abs_diff_deg": float(diff.mean()),
        "n": float(len(batch)),
        "tol_deg": float(tol_deg),
    }
    if not report["max_abs_diff_deg"] <= tol_deg:
        raise GateError(
            f"{onnx_path}: ONNX Runtime and PyTorch disagree by up to {report['max_abs_diff_deg']:.4f} deg "
            f"on {len(batch)} images (tolerance {tol_deg} deg); the export is not faithful"
        )
    return report


class OnnxModelDataset(AbstractDataset[onnx.ModelProto, onnx.ModelProto]):
    """Kedro dataset for one ONNX file: loads an onnx.ModelProto, saves it checked and atomically."""

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None):
        self._filepath = PurePosixPath(filepath)
        self.metadata = metadata

    def load(self) -> onnx.ModelProto:
        if not Path(self._filepath).is_file():
            raise DatasetError(f"{self._filepath}: ONNX model not found; run the pipeline that writes it")
        return onnx.load(str(self._filepath))

    def save(self, data: onnx.ModelProto) -> None:
        save_onnx(data, Path(self._filepath))

    def _exists(self) -> bool:
        return Path(self._filepath).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
