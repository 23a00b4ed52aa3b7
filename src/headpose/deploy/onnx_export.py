"""ONNX export: one file per model, input ``image`` (N, 3, S, S) float32, output ``angles`` (N, 3) degrees.

The batch axis is dynamic; the spatial size is fixed at the model's input size (runtime.onnx_predictor
reads it back from the graph). Export goes through ``torch.onnx.export(dynamo=True)`` at the
exporter's current opset, then onnxslim and onnx.checker; the file is written to a temporary sibling
and renamed, so a failed export leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from torch import nn

from headpose.data.preprocess import to_model_input
from headpose.deploy.artifacts import ArtifactSpec, ExportConfig
from headpose.deploy.runtime import onnx_predictor, with_metadata
from headpose.errors import GateError, HeadposeError
from headpose.evaluation import torch_predictor
from headpose.io import atomic_path
from headpose.models import AnglesOnly

log = logging.getLogger(__name__)
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


def check_proto_parity(
    model: nn.Module, proto: onnx.ModelProto, batch: np.ndarray, tol_deg: float
) -> dict[str, float]:
    """:func:`check_parity` of an in-memory ONNX model (written to a temporary file for ONNX Runtime)."""
    with tempfile.TemporaryDirectory(prefix="headpose-parity-") as tmp:
        return check_parity(model, save_onnx(proto, Path(tmp) / "model.onnx"), batch, tol_deg)


def _export_artifact(
    spec: ArtifactSpec,
    value: Any,
    upstream_onnx: onnx.ModelProto | None,
    images: np.ndarray,
    config: ExportConfig,
    path: Path,
) -> dict[str, Any]:
    entry = {"dataset": spec.dataset, "kind": spec.kind, "precision": spec.precision, "source": spec.source}
    if spec.kind == "checkpoint":
        if upstream_onnx is not None:  # exported upstream: reuse it, still parity-checked here
            save_onnx(upstream_onnx, path)
            entry["reused"] = spec.onnx
        else:
            export_onnx(value.model, value.input_size, path, opset=config.opset, simplify=config.simplify)
        batch = to_model_input(images, value.input_size)
        entry["parity"] = check_parity(value.model, path, batch, tol_deg=config.parity_tol_deg)
        entry["source"] = spec.name
    else:
        save_onnx(value, path)
        entry["parity"] = None
    entry["input_size"] = onnx_predictor(path).input_size  # must load in ONNX Runtime as shipped
    return entry


def export_set(
    present: list[tuple[ArtifactSpec, Any]],
    upstream: Mapping[str, Any],
    images: np.ndarray,
    config: ExportConfig,
) -> tuple[dict[str, bytes], dict[str, dict[str, Any]]]:
    """The deployable ONNX set ``{<name>.onnx: bytes}`` and one report entry per artifact.

    Checkpoints are exported (or their FP32 ONNX from another stage reused: ``onnx`` in the spec names
    it in ``upstream``) and must match PyTorch within ``parity_tol_deg`` on ``images`` (GateError
    otherwise); ONNX files of other stages (INT8 Q/DQ) join the set once they load in ONNX Runtime --
    their accuracy gate belongs to the stage that made them.
    """
    files, models = {}, {}
    with tempfile.TemporaryDirectory(prefix="headpose-export-") as tmp:
        for spec, value in present:
            path = Path(tmp) / f"{spec.name}.onnx"
            entry = _export_artifact(spec, value, upstream.get(spec.onnx), images, config, path)
            files[path.name] = content = path.read_bytes()
            entry.update(size_bytes=len(content), sha256=hashlib.sha256(content).hexdigest())
            models[spec.name] = entry
            log.info(
                "ONNX %s (%s, %s) ready: parity %s", spec.name, spec.dataset, spec.precision, entry["parity"]
            )
    return files, models
