"""Turn a model reference into a predictor: checkpoint (.pt), ONNX (.onnx) or TensorRT (.engine);
``pretrained`` and registry URIs ``models:/name@alias`` are resolved first by
:mod:`headpose.deploy.model_refs`.

A predictor maps float32 (N, 3, S, S) model input to (N, 3) degrees; ``input_size`` is S.

Model metadata (:func:`model_info`, :func:`onnx_metadata`): exported ONNX files carry
``headpose.*`` ``metadata_props`` (input size, normalisation, angle order and convention, crop,
training data, versions); checkpoints carry their ``meta`` dict. Every headpose model shares one
preprocessing and one angle convention, so a file without metadata is described by the project's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from headpose.deploy.model_refs import (
    PRETRAINED_DIR,
    PRETRAINED_NOTICE,
    resolve_model_uri,
    sibling_checkpoint,
)
from headpose.errors import ConfigError, HeadposeError, ModelError

Predictor = Callable[[np.ndarray], np.ndarray]  # float32 (N,3,S,S) -> (N,3) degrees

DEVICES = ("auto", "cpu", "cuda")

# What every headpose model expects and returns (written into exported ONNX files as metadata).
META_PREFIX = "headpose."
CONVENTIONS = {
    "input": "image: float32 (N, 3, S, S), RGB, channels first",
    "normalization": "(pixel / 255 - mean) / std per RGB channel, mean [0.485, 0.456, 0.406], "
    "std [0.229, 0.224, 0.225] (ImageNet)",
    "crop": "square box around the 68 face landmarks' bounding box, side enlarged by 0.25 per side "
    "(headpose.data.crops.box_from_landmarks), resized to S x S",
    "output": "angles: float32 (N, 3) degrees",
    "angle_order": "yaw, pitch, roll",
    "angle_convention": "degrees, 300W-LP / AFLW2000-3D Pose_Para convention: "
    "R = Rx(-pitch) Ry(-yaw) Rz(-roll), camera x right, y up, z toward the viewer; "
    "positive yaw turns the face toward image left, positive pitch tilts it up",
}


@dataclass
class LoadedModel:
    """A predictor, the side S of its square input, the backend that runs it and the file it came from."""

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
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own types for truncated or invalid graphs
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{path}: not a loadable ONNX model ({first})") from exc


def onnx_predictor(path: str | Path, threads: int | None = 1) -> LoadedModel:
    session = onnx_session(path, threads)
    model_input = session.get_inputs()[0]
    size = model_input.shape[-1]
    if not isinstance(size, int):
        raise ModelError(
            f"{path}: ONNX input {model_input.name} has no fixed spatial size ({model_input.shape})"
        )

    def predict(batch: np.ndarray) -> np.ndarray:
        return session.run(None, {model_input.name: batch.astype(np.float32, copy=False)})[0]

    return LoadedModel(predict, size, "onnxruntime", Path(path))


def load_model(ref: str, threads: int | None = 1) -> LoadedModel:
    """A model reference as a predictor on the CPU (.onnx on ONNX Runtime, .pt on PyTorch) or on
    TensorRT (.engine)."""
    path = resolve_model_uri(ref)
    if path.suffix == ".onnx":
        return onnx_predictor(path, threads)
    if path.suffix == ".pt":
        return _torch_model(path, threads)
    if path.suffix == ".engine":
        from headpose.deploy.tensorrt_runtime import TensorRTEngine

        engine = TensorRTEngine(path)
        return LoadedModel(engine.predict, engine.input_size, "tensorrt", path)
    raise ModelError(f"{path}: unsupported model file (expected .pt, .onnx or .engine)")


def _torch_model(path: Path, threads: int | None) -> LoadedModel:
    import torch

    from headpose.evaluation import torch_predictor
    from headpose.training.checkpoint import load_checkpoint

    if threads:
        torch.set_num_threads(threads)
    checkpoint = load_checkpoint(path)
    return LoadedModel(torch_predictor(checkpoint.model), checkpoint.input_size, "pytorch", path)


def load_predictor(ref: str, threads: int | None = 1, device: str = "auto") -> LoadedModel:
    """A model reference as a predictor. A ``.pt`` checkpoint runs on the GPU through the deploy CUDA
    runtime (a pool of CUDA streams) when ``device`` is cuda, or auto with a GPU present; everything
    else (.onnx, .engine on TensorRT, CPU .pt) goes through :func:`load_model`."""
    if device not in DEVICES:
        raise ConfigError(f"device must be one of {DEVICES}, got {device!r}")
    path = resolve_model_uri(ref)
    if path.suffix == ".pt" and device != "cpu":
        from headpose.deploy.cuda_runtime import cuda_unavailable_reason

        reason = cuda_unavailable_reason()
        if reason is None:
            return _cuda_model(path)
        if device == "cuda":
            raise HeadposeError(f"{path}: --device cuda: {reason}")
    if device == "cuda" and path.suffix == ".onnx":
        raise ModelError(
            f"{path}: --device cuda runs .pt checkpoints (CUDA streams) and .engine files "
            "(TensorRT); ONNX models run on ONNX Runtime's CPU provider"
        )
    return load_model(str(path), threads=threads)


def _cuda_model(path: Path) -> LoadedModel:
    from headpose.deploy.cuda_runtime import CudaPredictor
    from headpose.training.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(path)
    return LoadedModel(CudaPredictor(checkpoint.model).predict, checkpoint.input_size, "pytorch-cuda", path)


# ----------------------------------------------------------------------------------------- metadata


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("headpose")
    except PackageNotFoundError:
        return "unknown"


def checkpoint_metadata(meta: dict[str, Any], spec: dict[str, Any] | None = None) -> dict[str, str]:
    """The ``headpose.*`` ONNX metadata of a model trained with checkpoint ``meta`` (plain strings)."""
    out = {
        "input_size": str(int(meta["input_size"])),
        **CONVENTIONS,
        "training_data": str(meta.get("training_data") or "not recorded"),
        "model_version": str(meta.get("version") or "not recorded"),
        "headpose_version": package_version(),
    }
    if spec:
        out["architecture"] = ", ".join(
            f"{k}={v}" for k, v in sorted(spec.items()) if not isinstance(v, dict)
        )
    return out


def onnx_metadata(proto) -> dict[str, str]:
    """``headpose.*`` metadata_props of an onnx.ModelProto, without the prefix."""
    return {p.key[len(META_PREFIX) :]: p.value for p in proto.metadata_props if p.key.startswith(META_PREFIX)}


def with_metadata(proto, metadata: dict[str, str], overwrite: bool = False):
    """Add ``headpose.<key>`` metadata_props to ``proto`` (in place; kept where present unless
    ``overwrite``). Returns ``proto``."""
    existing = {p.key: p for p in proto.metadata_props}
    for key, value in metadata.items():
        name = META_PREFIX + key
        if name in existing:
            if overwrite:
                existing[name].value = str(value)
            continue
        entry = proto.metadata_props.add()
        entry.key, entry.value = name, str(value)
    return proto


def model_info(ref: str) -> dict[str, Any]:
    """What a model expects and returns (see the module docstring), from its metadata."""
    path = resolve_model_uri(ref, prefer=".onnx")
    info: dict[str, Any] = {
        "model": str(ref),
        "path": str(path),
        "format": path.suffix.lstrip("."),
        "size_bytes": path.stat().st_size,
    }
    if path.suffix == ".onnx":
        info.update(_onnx_info(path))
    elif path.suffix == ".pt":
        info.update(_checkpoint_info(path))
        info["input_size"] = int(info["input_size"])
        info["metadata"] = "checkpoint"
    else:
        raise ModelError(f"{path}: headpose info reads .onnx and .pt files, not {path.suffix or 'this file'}")
    for key, value in CONVENTIONS.items():
        info.setdefault(key, value)
    info.setdefault("training_data", "not recorded")
    info.setdefault("model_version", "not recorded")
    if path.parent == PRETRAINED_DIR and PRETRAINED_NOTICE.is_file():
        info["notice"] = str(PRETRAINED_NOTICE)
    return info


def _onnx_info(path: Path) -> dict[str, Any]:
    """An ONNX file's metadata, completed from the checkpoint shipped beside it when their sizes agree."""
    import onnx

    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - protobuf raises DecodeError and others
        raise ModelError(f"{path}: not a readable ONNX file ({type(exc).__name__}: {exc})") from exc
    stored = onnx_metadata(proto)
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    info: dict[str, Any] = {
        "input_size": int(stored.get("input_size") or dims[-1].dim_value or 0) or None,
        "opset": max((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), default=None),
        "quantized": any(n.op_type == "QuantizeLinear" for n in proto.graph.node),
        "metadata": "embedded" if stored else "none in the file: the project's conventions apply",
    }
    sibling = sibling_checkpoint(path)
    if sibling is not None:
        info["checkpoint"] = str(sibling)
        from_checkpoint = _checkpoint_info(sibling)
        if info["input_size"] is None or int(from_checkpoint["input_size"]) == info["input_size"]:
            stored = {**from_checkpoint, **stored}
    info.update({k: v for k, v in stored.items() if k != "input_size"})
    return info


def _checkpoint_info(path: Path) -> dict[str, Any]:
    import torch

    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - corrupt or not a torch file
        raise ModelError(
            f"{path}: not a readable headpose checkpoint ({exc.__class__.__name__}: {exc})"
        ) from exc
    if (
        not isinstance(payload, dict)
        or "meta" not in payload
        or "input_size" not in (payload.get("meta") or {})
    ):
        raise ModelError(f"{path}: no 'meta' with 'input_size'; was it written by headpose?")
    meta = payload["meta"]
    out: dict[str, Any] = checkpoint_metadata(meta, payload.get("spec"))
    out.pop("headpose_version")
    for key in ("params", "macs", "best_val_mae"):
        if key in meta:
            out[key] = meta[key]
    return out
