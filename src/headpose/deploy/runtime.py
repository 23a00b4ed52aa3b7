"""Turn any model reference into a predictor: checkpoint (.pt), ONNX (.onnx), TensorRT (.engine),
``pretrained`` or a registry URI ``models:/name@alias``.

A predictor maps float32 (N, 3, S, S) model input to (N, 3) degrees; ``input_size`` is S.

- ``pretrained`` is the model shipped inside the package: ``headpose/pretrained/headpose.onnx``, its
  PyTorch checkpoint ``headpose.pt`` and ``NOTICE.md`` (where it comes from, its licence).
- ``models:/...`` is read from the MLflow registry the project is configured with: the
  ``server.mlflow_tracking_uri`` (and ``mlflow_registry_uri``) of ``conf/base/mlflow.yml``, with
  ``conf/local/mlflow.yml`` over it, in the project found by walking up from the working directory
  to a folder holding ``pyproject.toml`` and ``conf/``; ``MLFLOW_TRACKING_URI`` (and
  ``MLFLOW_REGISTRY_URI``) in the environment win. A relative sqlite path is relative to the project
  root, as kedro-mlflow reads it. Resolving never creates a database: a sqlite registry that does
  not exist is an error.

Model metadata (:func:`model_info`, :func:`onnx_metadata`): exported ONNX files carry
``headpose.*`` ``metadata_props`` (input size, normalisation, angle order and convention, crop,
training data, versions); checkpoints carry their ``meta`` dict. Every headpose model shares one
preprocessing and one angle convention, so a file without metadata is described by the project's.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from headpose.errors import ConfigError, DatasetError, HeadposeError

Predictor = Callable[[np.ndarray], np.ndarray]  # float32 (N,3,S,S) -> (N,3) degrees

PRETRAINED = "pretrained"
PRETRAINED_DIR = Path(__file__).resolve().parents[1] / "pretrained"
PRETRAINED_ONNX = PRETRAINED_DIR / "headpose.onnx"
PRETRAINED_CHECKPOINT = PRETRAINED_DIR / "headpose.pt"
PRETRAINED_NOTICE = PRETRAINED_DIR / "NOTICE.md"
DEVICES = ("auto", "cpu", "cuda")
MODEL_SUFFIXES = (".onnx", ".pt", ".engine")

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
    "angle_convention": "degrees, 300W-LP / AFLW2000-3D Pose_Para convention: R = Rx(-pitch) Ry(-yaw) Rz(-roll), "
                        "camera x right, y up, z toward the viewer; positive yaw turns the face toward image "
                        "left, positive pitch tilts it up",
}


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
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own types for truncated or invalid graphs
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatasetError(f"{path}: not a loadable ONNX model ({first})") from exc


def onnx_predictor(path: str | Path, threads: int | None = 1) -> LoadedModel:
    session = onnx_session(path, threads)
    model_input = session.get_inputs()[0]
    size = model_input.shape[-1]
    if not isinstance(size, int):
        raise DatasetError(f"{path}: ONNX input {model_input.name} has no fixed spatial size ({model_input.shape})")

    def predict(batch: np.ndarray) -> np.ndarray:
        return session.run(None, {model_input.name: batch.astype(np.float32, copy=False)})[0]

    return LoadedModel(predict, size, "onnxruntime", Path(path))


# ----------------------------------------------------------------------------------------- references

def pretrained_path(kind: str = "onnx") -> Path:
    """The packaged model's ``.onnx`` (``kind="onnx"``) or ``.pt`` checkpoint (``kind="pt"``)."""
    path = {"onnx": PRETRAINED_ONNX, "pt": PRETRAINED_CHECKPOINT}[kind]
    if not path.is_file():
        raise DatasetError(f"the pretrained model is not installed: {path} is missing; pass --model with an "
                           ".onnx or .pt file or a models:/ registry URI")
    return path


def find_project_root(start: str | Path | None = None) -> Path | None:
    """The nearest folder at or above ``start`` (default: the working directory) that holds both
    ``pyproject.toml`` and ``conf/``; None when there is none."""
    here = Path(start if start is not None else os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "conf").is_dir():
            return folder
    return None


_ENV_REF = re.compile(r"\$\{\s*env:\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:,\s*([^}]*))?\}")


def _interpolate_env(value: str, source: Path) -> str:
    """Resolve OmegaConf's ``${env:NAME,default}`` (the only interpolation kedro-mlflow configs use)."""
    def replace(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is None:
            raise ConfigError(f"{source}: mlflow_tracking_uri needs the environment variable {name}, "
                              "which is not set")
        return default.strip().strip("'\"")

    return _ENV_REF.sub(replace, value)


def _absolute_uri(uri: str, root: Path) -> str:
    """kedro-mlflow's reading of relative locations: relative to the project root."""
    if uri.startswith("sqlite:///"):
        path = uri[len("sqlite:///"):]
        return uri if path.startswith("/") or path == ":memory:" else f"sqlite:///{(root / path).resolve()}"
    if "://" not in uri and not uri.startswith("databricks"):
        path = Path(uri)
        return (path if path.is_absolute() else (root / path).resolve()).as_uri()
    return uri


def mlflow_uris(start: str | Path | None = None) -> tuple[str, str | None, str]:
    """(tracking URI, registry URI or None, where they came from) for ``models:/`` references."""
    root = find_project_root(start)
    config: dict[str, Any] = {}
    sources = []
    if root is not None:
        import yaml

        for env in ("base", "local"):
            path = root / "conf" / env / "mlflow.yml"
            if not path.is_file():
                continue
            try:
                raw = yaml.safe_load(path.read_text()) or {}
            except (OSError, yaml.YAMLError) as exc:
                raise ConfigError(f"{path}: not a readable kedro-mlflow config ({exc})") from exc
            server = raw.get("server") if isinstance(raw, dict) else None
            if server is not None and not isinstance(server, dict):
                raise ConfigError(f"{path}: 'server' must be a mapping with mlflow_tracking_uri")
            for key in ("mlflow_tracking_uri", "mlflow_registry_uri"):
                if server and server.get(key) is not None:
                    config[key] = _interpolate_env(str(server[key]), path)
                    sources.append(path)
    tracking = os.environ.get("MLFLOW_TRACKING_URI") or config.get("mlflow_tracking_uri")
    registry = os.environ.get("MLFLOW_REGISTRY_URI") or config.get("mlflow_registry_uri")
    if "MLFLOW_TRACKING_URI" in os.environ:
        where = "the MLFLOW_TRACKING_URI environment variable"
    elif sources:
        where = str(sources[0])
    else:
        raise ConfigError("models:/ references need an MLflow registry: run inside the project (its "
                          "conf/base/mlflow.yml names it) or set MLFLOW_TRACKING_URI")
    base = root if root is not None else Path.cwd()
    return _absolute_uri(tracking, base), (_absolute_uri(registry, base) if registry else None), where


def _check_store_exists(uri: str, where: str, ref: str) -> None:
    """A sqlite store that does not exist would be created by MLflow: refuse instead."""
    if uri.startswith("sqlite:///"):
        path = Path(uri[len("sqlite:///"):])
        if str(path) != ":memory:" and not path.is_file():
            raise DatasetError(f"{ref}: the MLflow registry {path} (from {where}) does not exist; register a "
                               "model first (kedro run --pipelines register) or set MLFLOW_TRACKING_URI")
    elif uri.startswith("file:"):
        from urllib.parse import unquote, urlparse

        path = Path(unquote(urlparse(uri).path))
        if not path.is_dir():
            raise DatasetError(f"{ref}: the MLflow store {path} (from {where}) does not exist")


@contextmanager
def _using_mlflow(tracking: str, registry: str | None) -> Iterator[None]:
    """MLflow's process-wide tracking and registry URIs set for the block, then restored exactly
    (MLflow resolves ``models:/`` through them whatever URIs its functions are given)."""
    import mlflow
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    names = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    saved_env = {name: os.environ.get(name) for name in names}
    saved = tracking_utils._tracking_uri, registry_utils._registry_uri
    mlflow.set_tracking_uri(tracking)
    mlflow.set_registry_uri(registry or tracking)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(saved[0])
        registry_utils._registry_uri = saved[1]
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _download_registered(ref: str) -> Path:
    tracking, registry, where = mlflow_uris()
    _check_store_exists(tracking, where, ref)
    if registry:
        _check_store_exists(registry, where, ref)
    import mlflow
    from mlflow.exceptions import MlflowException

    store = registry or tracking
    try:
        with _using_mlflow(tracking, registry):
            return Path(mlflow.artifacts.download_artifacts(artifact_uri=ref))
    except MlflowException as exc:
        first = (exc.message or str(exc)).strip().splitlines()[0]
        raise DatasetError(f"{ref}: not found in the MLflow registry {store} (from {where}): {first}") from exc
    except OSError as exc:
        raise DatasetError(f"{ref}: could not download from the MLflow registry {store}: {exc}") from exc


def resolve_model_uri(ref: str, prefer: str = ".onnx") -> Path:
    """Local path of a model reference (see the module docstring). A registered version or the
    pretrained folder may hold both an ONNX file and a checkpoint: ``prefer`` picks the suffix."""
    ref = str(ref)
    if ref == PRETRAINED:
        if prefer == ".pt" and PRETRAINED_CHECKPOINT.is_file():
            return PRETRAINED_CHECKPOINT
        return pretrained_path("onnx")
    if ref.startswith("models:/"):
        local = _download_registered(ref)
        if local.is_file():
            return local
        order = [prefer] + [s for s in (".onnx", ".pt") if s != prefer]
        for suffix in order:
            candidates = sorted(local.rglob(f"*{suffix}"))
            if candidates:
                return candidates[0]
        raise DatasetError(f"{ref}: registered model holds no .onnx or .pt file")
    path = Path(ref)
    if not path.exists():
        hint = " (did you mean 'pretrained' or models:/...?)" if path.suffix == "" else ""
        raise DatasetError(f"{path}: model file not found{hint}")
    if path.is_dir():
        raise DatasetError(f"{path}: is a folder; pass the model file (.onnx, .pt or .engine)")
    return path


def load_model(ref: str, threads: int | None = 1) -> LoadedModel:
    path = resolve_model_uri(ref)
    if path.suffix == ".onnx":
        return onnx_predictor(path, threads)
    if path.suffix == ".pt":
        import torch

        from headpose.evaluation import torch_predictor
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


def load_predictor(ref: str, threads: int | None = 1, device: str = "auto") -> LoadedModel:
    """A model reference as a predictor. A ``.pt`` checkpoint runs on the GPU through the deploy CUDA
    runtime (a pool of CUDA streams) when ``device`` is cuda, or auto with a GPU present; everything
    else (.onnx, .engine on TensorRT, CPU .pt) goes through :func:`load_model`."""
    if device not in DEVICES:
        raise ConfigError(f"device must be one of {DEVICES}, got {device!r}")
    path = resolve_model_uri(ref)
    if path.suffix == ".pt" and device != "cpu":
        from headpose.deploy.cuda_runtime import CudaPredictor, cuda_unavailable_reason

        reason = cuda_unavailable_reason()
        if reason is None:
            from headpose.training.checkpoint import load_checkpoint

            checkpoint = load_checkpoint(path)
            predictor = CudaPredictor(checkpoint.model)
            return LoadedModel(predictor.predict, checkpoint.input_size, "pytorch-cuda", path)
        if device == "cuda":
            raise HeadposeError(f"{path}: --device cuda: {reason}")
    if device == "cuda" and path.suffix == ".onnx":
        raise HeadposeError(f"{path}: --device cuda runs .pt checkpoints (CUDA streams) and .engine files "
                            "(TensorRT); ONNX models run on ONNX Runtime's CPU provider")
    return load_model(str(path), threads=threads)


# ----------------------------------------------------------------------------------------- metadata

def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("headpose")
    except PackageNotFoundError:
        return "unknown"


def checkpoint_metadata(meta: dict[str, Any], spec: dict[str, Any] | None = None) -> dict[str, str]:
    """The ``headpose.*`` ONNX metadata of a model trained with checkpoint ``meta`` (plain strings)."""
    out = {"input_size": str(int(meta["input_size"])), **CONVENTIONS,
           "training_data": str(meta.get("training_data") or "not recorded"),
           "model_version": str(meta.get("version") or "not recorded"),
           "headpose_version": package_version()}
    if spec:
        out["architecture"] = ", ".join(f"{k}={v}" for k, v in sorted(spec.items()) if not isinstance(v, dict))
    return out


def onnx_metadata(proto) -> dict[str, str]:
    """``headpose.*`` metadata_props of an onnx.ModelProto, without the prefix."""
    return {p.key[len(META_PREFIX):]: p.value for p in proto.metadata_props if p.key.startswith(META_PREFIX)}


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
    info: dict[str, Any] = {"model": str(ref), "path": str(path), "format": path.suffix.lstrip("."),
                            "size_bytes": path.stat().st_size}
    if path.suffix == ".onnx":
        import onnx

        try:
            proto = onnx.load(str(path), load_external_data=False)
        except Exception as exc:  # noqa: BLE001 - protobuf raises DecodeError and others
            raise DatasetError(f"{path}: not a readable ONNX file ({type(exc).__name__}: {exc})") from exc
        stored = onnx_metadata(proto)
        dims = proto.graph.input[0].type.tensor_type.shape.dim
        info["input_size"] = int(stored.get("input_size") or dims[-1].dim_value or 0) or None
        info["opset"] = max((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), default=None)
        info["quantized"] = any(n.op_type == "QuantizeLinear" for n in proto.graph.node)
        info["metadata"] = "embedded" if stored else "none in the file: the project's conventions apply"
        sibling = sibling_checkpoint(path)
        if sibling is not None:
            info["checkpoint"] = str(sibling)
            from_checkpoint = _checkpoint_info(sibling)
            if info["input_size"] is None or int(from_checkpoint["input_size"]) == info["input_size"]:
                stored = {**from_checkpoint, **stored}
        info.update({k: v for k, v in stored.items() if k != "input_size"})
    elif path.suffix == ".pt":
        info.update(_checkpoint_info(path))
        info["input_size"] = int(info["input_size"])
        info["metadata"] = "checkpoint"
    else:
        raise DatasetError(f"{path}: headpose info reads .onnx and .pt files, not {path.suffix or 'this file'}")
    for key, value in CONVENTIONS.items():
        info.setdefault(key, value)
    info.setdefault("training_data", "not recorded")
    info.setdefault("model_version", "not recorded")
    if path.parent == PRETRAINED_DIR and PRETRAINED_NOTICE.is_file():
        info["notice"] = str(PRETRAINED_NOTICE)
    return info


def sibling_checkpoint(onnx_path: str | Path) -> Path | None:
    """The checkpoint shipped with an ONNX file: ``headpose.pt`` beside the pretrained model, or
    ``checkpoint.pt`` beside a registered version's ONNX file (headpose's registry layout)."""
    onnx_path = Path(onnx_path)
    name = PRETRAINED_CHECKPOINT.name if onnx_path.parent == PRETRAINED_DIR else "checkpoint.pt"
    candidate = onnx_path.parent / name
    return candidate if candidate.is_file() else None


def _checkpoint_info(path: Path) -> dict[str, Any]:
    import torch

    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - corrupt or not a torch file
        raise DatasetError(f"{path}: not a readable headpose checkpoint ({exc.__class__.__name__}: {exc})") from exc
    if not isinstance(payload, dict) or "meta" not in payload or "input_size" not in (payload.get("meta") or {}):
        raise DatasetError(f"{path}: no 'meta' with 'input_size'; was it written by headpose?")
    meta = payload["meta"]
    out: dict[str, Any] = checkpoint_metadata(meta, payload.get("spec"))
    out.pop("headpose_version")
    for key in ("params", "macs", "best_val_mae"):
        if key in meta:
            out[key] = meta[key]
    return out
