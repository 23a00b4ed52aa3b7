"""TensorRT engines from ONNX: FP16 from the FP32 ONNX, INT8 from a Q/DQ ONNX (explicit quantisation).

Real TensorRT Python API code (tensorrt >= 10), used where TensorRT and a CUDA GPU exist
(``pip install '.[tensorrt]'`` on an NVIDIA machine). Elsewhere :func:`build_or_skip` records
``{"status": "skipped", "reason": ...}`` instead of an engine; nothing here fakes one.

- FP16: ``BuilderFlag.FP16`` on a weakly typed network (TensorRT 10). TensorRT 11 removed the
  precision flags; there FP16 needs an FP16 ONNX, which export does not produce, so it is skipped
  with that reason.
- INT8: the Q/DQ ONNX's scales decide precision (a symmetric S8S8 Q/DQ file); the network is
  strongly typed (``NetworkDefinitionCreationFlag.STRONGLY_TYPED``), no calibrator, no INT8 flag.
- One optimisation profile for the dynamic batch axis (min/opt/max), a persistent timing cache,
  and metadata beside every engine (GPU, compute capability, TensorRT version, ONNX sha256) so
  :func:`check_engine_metadata` refuses an engine built elsewhere or from another ONNX.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from headpose.config import Config, knob
from headpose.errors import ConfigError, HeadposeError
from headpose.io import atomic_path

log = logging.getLogger(__name__)

PRECISIONS = ("fp16", "int8")
INSTALL_HINT = "on an NVIDIA machine: pip install '.[tensorrt]' (wheels from NVIDIA's package index)"


class EngineMismatchError(HeadposeError):
    """An engine was built on another GPU, with another TensorRT, or from another ONNX file."""


@dataclass(frozen=True)
class BuildSettings(Config, section="build.profile"):
    """One optimisation profile over the dynamic batch axis, and the builder's workspace."""

    min_batch: int = knob(1, lo=1)
    opt_batch: int = knob(8, lo=1)
    max_batch: int = knob(128, lo=1)
    workspace_mib: int = knob(1024, lo=1)

    def check(self) -> None:
        if not self.min_batch <= self.opt_batch <= self.max_batch:
            raise self.problem(
                "opt_batch",
                "need 1 <= min_batch <= opt_batch <= max_batch, got "
                f"{self.min_batch}, {self.opt_batch}, {self.max_batch}",
            )


@dataclass(frozen=True)
class EngineSpec(Config, section="build.engines"):
    name: str = ""  # required (the base Config has no required keys: empty means unset)
    onnx: str = ""  # required: a file of the ONNX set (export.models name)
    precision: str = knob("fp16", choices=PRECISIONS)

    def check(self) -> None:
        for key in ("name", "onnx"):
            if not getattr(self, key):
                raise self.problem(key, "required: every engine needs a name, its ONNX file and a precision")


@dataclass(frozen=True)
class BuildConfig(Config, section="build"):
    engines: tuple[EngineSpec, ...] = ()
    profile: BuildSettings = field(default_factory=BuildSettings)
    timing_cache: str | None = None  # kernel timings reused by later builds on the same GPU + TensorRT


def tensorrt_unavailable_reason() -> str | None:
    """Why no engine can be built or run here, or None when TensorRT >= 10 and a CUDA GPU exist."""
    try:
        import tensorrt as trt
    except ImportError as exc:
        return f"TensorRT is not installed ({exc}); {INSTALL_HINT}"
    import torch

    if not torch.cuda.is_available():
        return f"no CUDA GPU visible (torch {torch.__version__}: torch.cuda.is_available() is False)"
    if int(trt.__version__.split(".")[0]) < 10:
        return f"TensorRT {trt.__version__} is older than 10; {INSTALL_HINT}"
    return None


def unsupported_precision_reason(precision: str) -> str | None:
    """Why this TensorRT cannot build ``precision`` from our ONNX files (call only when TensorRT imports)."""
    import tensorrt as trt

    if precision == "fp16" and not hasattr(trt.BuilderFlag, "FP16"):
        return (
            f"TensorRT {trt.__version__} has no BuilderFlag.FP16 (removed in TensorRT 11): an FP16 engine "
            "needs an FP16 ONNX built as a strongly typed network, which export does not produce"
        )
    return None


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def metadata_path(engine_path: str | Path) -> Path:
    engine_path = Path(engine_path)
    return engine_path.with_name(engine_path.name + ".json")


def current_environment() -> dict[str, str]:
    """The facts an engine is bound to: GPU name, compute capability, TensorRT version."""
    import tensorrt as trt
    import torch

    major, minor = torch.cuda.get_device_capability()
    return {
        "gpu_name": torch.cuda.get_device_name(),
        "compute_capability": f"{major}.{minor}",
        "tensorrt_version": trt.__version__,
    }


def write_engine_metadata(
    engine_path: str | Path,
    onnx_path: str | Path,
    precision: str,
    settings: BuildSettings,
    environment: dict[str, str],
    **extra: Any,
) -> dict[str, Any]:
    meta = {
        **environment,
        "onnx_path": str(onnx_path),
        "onnx_sha256": sha256_file(onnx_path),
        "precision": precision,
        "profile": asdict(settings),
        **extra,
    }
    with atomic_path(metadata_path(engine_path)) as tmp:
        tmp.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return meta


def check_engine_metadata(
    engine_path: str | Path, environment: dict[str, str], onnx_path: str | Path | None = None
) -> dict[str, Any]:
    """The engine's metadata; raises EngineMismatchError when it does not belong to ``environment``.

    TensorRT engines only run on the GPU model and TensorRT version that built them; an engine
    whose ONNX has changed since is stale. Both are refused here, before deserialisation.
    """
    engine_path, meta_file = Path(engine_path), metadata_path(engine_path)
    if not engine_path.is_file():
        raise EngineMismatchError(f"{engine_path}: engine file not found; run `kedro run --pipelines build`")
    if not meta_file.is_file():
        raise EngineMismatchError(
            f"{engine_path}: no metadata file {meta_file.name} beside it, so its GPU, "
            "TensorRT version and source ONNX are unknown; rebuild it with "
            "`kedro run --pipelines build`"
        )
    try:
        meta = json.loads(meta_file.read_text())
    except json.JSONDecodeError as exc:
        raise EngineMismatchError(
            f"{meta_file}: unreadable engine metadata ({exc}); rebuild the engine"
        ) from exc
    problems = [
        f"{key} is {meta.get(key)!r} in the engine but {value!r} here"
        for key, value in environment.items()
        if meta.get(key) != value
    ]
    if onnx_path is not None:
        sha = sha256_file(onnx_path)
        if meta.get("onnx_sha256") != sha:
            problems.append(
                f"it was built from an ONNX with sha256 {str(meta.get('onnx_sha256'))[:12]}… "
                f"but {onnx_path} now has {sha[:12]}… (stale engine)"
            )
    if problems:
        raise EngineMismatchError(
            f"{engine_path}: refusing a foreign or stale TensorRT engine: "
            + "; ".join(problems)
            + ". Rebuild it on this machine with "
            "`kedro run --pipelines build`"
        )
    return meta


def build_engine(
    onnx_path: str | Path,
    engine_path: str | Path,
    precision: str,
    settings: BuildSettings,
    timing_cache: str | Path | None = None,
) -> dict[str, Any]:
    """Parse ``onnx_path``, build a serialized engine at ``engine_path`` (+ metadata); return the metadata."""
    import tensorrt as trt

    if precision not in PRECISIONS:
        raise ConfigError(f"{onnx_path}: precision {precision!r} is not one of {PRECISIONS}")
    onnx_path, engine_path = Path(onnx_path), Path(engine_path)
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    strongly_typed = precision == "int8"
    unsupported = unsupported_precision_reason(precision)
    if unsupported:
        raise ConfigError(f"{onnx_path}: {unsupported}")
    flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED) if strongly_typed else 0
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise HeadposeError(f"{onnx_path}: TensorRT's ONNX parser failed: {errors}")

    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, settings.workspace_mib << 20)
    if precision == "fp16":
        config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    for i in range(network.num_inputs):
        tensor = network.get_input(i)
        sample = tuple(tensor.shape)[1:]
        if any(d < 0 for d in sample):
            raise HeadposeError(
                f"{onnx_path}: input {tensor.name} has dynamic non-batch dims {tensor.shape}; "
                "export with a fixed image size"
            )
        profile.set_shape(
            tensor.name,
            (settings.min_batch, *sample),
            (settings.opt_batch, *sample),
            (settings.max_batch, *sample),
        )
    config.add_optimization_profile(profile)

    # The timing cache makes rebuilds on the same GPU fast; a mismatched cache is rejected, not reused.
    cache_file = Path(timing_cache) if timing_cache else None
    cache_bytes = cache_file.read_bytes() if cache_file and cache_file.is_file() else b""
    config.set_timing_cache(config.create_timing_cache(cache_bytes), False)

    start = time.perf_counter()
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise HeadposeError(f"{onnx_path}: TensorRT failed to build a {precision} engine (see the log above)")
    seconds = time.perf_counter() - start
    with atomic_path(engine_path) as tmp:
        tmp.write_bytes(serialized)
    if cache_file:
        with atomic_path(cache_file) as tmp:
            tmp.write_bytes(config.get_timing_cache().serialize())
    meta = write_engine_metadata(
        engine_path,
        onnx_path,
        precision,
        settings,
        current_environment(),
        strongly_typed=strongly_typed,
        build_seconds=round(seconds, 2),
    )
    log.info("built %s engine %s from %s in %.1f s", precision, engine_path, onnx_path, seconds)
    return meta


def build_or_skip(
    onnx_path: str | Path | None,
    engine_path: str | Path,
    precision: str,
    settings: BuildSettings,
    timing_cache: str | Path | None = None,
) -> dict[str, Any]:
    """``{"status": "built", ...metadata}``, or ``{"status": "skipped", "reason": ...}`` without TensorRT,
    a GPU or the ONNX file."""
    result = {
        "engine_path": str(engine_path),
        "onnx_path": str(onnx_path) if onnx_path else None,
        "precision": precision,
    }
    reason = tensorrt_unavailable_reason()
    if reason is None and (onnx_path is None or not Path(onnx_path).is_file()):
        reason = f"source ONNX {onnx_path} does not exist"
    if reason is None:
        reason = unsupported_precision_reason(precision)
    if reason is not None:
        log.warning("TensorRT %s engine %s skipped: %s", precision, engine_path, reason)
        return {**result, "status": "skipped", "reason": reason}
    return {
        **result,
        "status": "built",
        **build_engine(onnx_path, engine_path, precision, settings, timing_cache),
    }
