"""``headpose export``: one self-describing ONNX file from any model reference, FP32 or INT8.

- A ``.pt`` checkpoint is exported by :func:`headpose.deploy.onnx_export.to_onnx_proto` and must match
  PyTorch within 0.01 deg on synthetic crops (:func:`~headpose.deploy.onnx_export.check_parity`).
- An ``.onnx`` file is taken as it is.
- ``int8``: static Q/DQ quantisation by :func:`headpose.compression.quantization.ptq_within_budget`
  (variant ``cpu``: U8S8 for ONNX Runtime on x86, ``trt``: S8S8 for TensorRT), calibrated on
  synthetic renders and guarded on other renders: the most sensitive units stay in float until the
  INT8 MAE is within ``max_drop_deg`` of FP32; a model that cannot get there is refused (GateError).

The file gets the ``headpose.*`` metadata of :mod:`headpose.deploy.runtime` (input size,
normalisation, crop, angle order and convention, training data, versions; from the checkpoint when
there is one -- for an ONNX file, the checkpoint shipped beside it), keeping entries it already has.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from headpose.errors import ConfigError, GateError, ModelError

PARITY_IMAGES = 16
PARITY_TOL_DEG = 0.01
CALIBRATION_SEED, VALIDATION_SEED = 101, 202


def synthetic_crops(n: int, size: int, seed: int):
    """``n`` labelled synthetic face crops (a FaceSet) at ``size`` px."""
    from headpose.synth.generate import generate

    return generate(dict(num_images=n, image_size=max(16, size), seed=seed), workers=1, progress=False)


def export_model(
    ref: str,
    out: str | Path,
    int8: bool = False,
    variant: str = "cpu",
    calibration_images: int = 256,
    max_drop_deg: float = 0.3,
    opset: int | None = None,
) -> dict[str, Any]:
    """Write ``ref`` as ONNX to ``out`` (see the module docstring); returns a report."""
    import onnx

    from headpose.deploy.model_refs import resolve_model_uri
    from headpose.deploy.onnx_export import save_onnx
    from headpose.deploy.runtime import onnx_metadata, onnx_predictor, with_metadata

    out = Path(out)
    if out.suffix != ".onnx":
        raise ConfigError(f"--out {out}: the exported file must end in .onnx")
    if calibration_images < 8:
        raise ConfigError(f"--calibration-images must be >= 8, got {calibration_images}")
    path = resolve_model_uri(ref, prefer=".onnx")
    report: dict[str, Any] = {"source": str(path), "out": str(out), "parity": None, "int8": None}
    if path.suffix == ".pt":
        proto, size, metadata, report["parity"] = _from_checkpoint(path, opset)
    elif path.suffix == ".onnx":
        proto, size, metadata = _from_onnx(path)
    else:
        raise ModelError(
            f"{path}: export reads .pt checkpoints and .onnx files, not {path.suffix or 'this file'}"
        )

    quantized = any(n.op_type == "QuantizeLinear" for n in proto.graph.node)
    metadata.setdefault("precision", "int8" if quantized else "fp32")
    with_metadata(proto, metadata)  # entries the file already has are kept
    precision = "int8" if quantized else "fp32"
    if int8:
        if quantized:
            raise ConfigError(
                f"{path}: already quantised (it holds QuantizeLinear nodes); export it without --int8"
            )
        proto, report["int8"] = _quantize(proto, size, variant, calibration_images, max_drop_deg)
        _describe_int8(proto, metadata, report["int8"], calibration_images)
        precision = "int8"
    save_onnx(proto, out)
    loaded = onnx_predictor(out)  # must load in ONNX Runtime as written
    report.update(
        precision=precision,
        input_size=loaded.input_size,
        size_bytes=out.stat().st_size,
        metadata=onnx_metadata(onnx.load(str(out))),
    )
    return report


def _from_checkpoint(path: Path, opset: int | None) -> tuple[Any, int, dict[str, str], dict[str, Any]]:
    """A checkpoint's ONNX graph, input size, metadata, and its parity with PyTorch (checked)."""
    from headpose.data.preprocess import to_model_input
    from headpose.deploy.onnx_export import check_parity, save_onnx, to_onnx_proto
    from headpose.deploy.runtime import checkpoint_metadata
    from headpose.training.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(path)
    size = checkpoint.input_size
    proto = to_onnx_proto(checkpoint.model, size, opset)
    metadata = checkpoint_metadata(checkpoint.meta, dict(checkpoint.model.spec))
    with tempfile.TemporaryDirectory(prefix="headpose-export-") as tmp:
        fp32 = save_onnx(proto, Path(tmp) / "fp32.onnx")
        batch = to_model_input(synthetic_crops(PARITY_IMAGES, size, VALIDATION_SEED).images, size)
        parity = check_parity(checkpoint.model, fp32, batch, PARITY_TOL_DEG)
    return proto, size, metadata, parity


def _from_onnx(path: Path) -> tuple[Any, int, dict[str, str]]:
    """An ONNX file's graph, input size and metadata (from the checkpoint shipped beside it, if any)."""
    import onnx

    from headpose.deploy.model_refs import sibling_checkpoint
    from headpose.deploy.runtime import CONVENTIONS, checkpoint_metadata, onnx_predictor, package_version
    from headpose.training.checkpoint import load_checkpoint

    try:
        proto = onnx.load(str(path))
    except Exception as exc:  # noqa: BLE001 - protobuf raises DecodeError and others
        raise ModelError(f"{path}: not a readable ONNX file ({type(exc).__name__}: {exc})") from exc
    size = onnx_predictor(path).input_size
    metadata = {"input_size": str(size), "headpose_version": package_version()}
    sibling = sibling_checkpoint(path)
    checkpoint = load_checkpoint(sibling) if sibling is not None else None
    if checkpoint is not None and checkpoint.input_size == size:
        return proto, size, {**checkpoint_metadata(checkpoint.meta, dict(checkpoint.model.spec)), **metadata}
    return proto, size, {**CONVENTIONS, **metadata}


def _describe_int8(proto, metadata: dict[str, str], q: dict[str, Any], calibration_images: int) -> None:
    """The FP32 model's metadata on its quantised graph, with its own precision and quantisation."""
    from headpose.deploy.runtime import with_metadata

    with_metadata(proto, {k: v for k, v in metadata.items() if k != "precision"})  # quantisation drops them
    with_metadata(
        proto,
        {
            "precision": f"int8 ({q['variant']}: {q['target']}, static Q/DQ, per-channel weights)",
            "quantization": f"calibrated on {calibration_images} synthetic renders; float units: "
            f"{', '.join(q['float_units']) or 'none'}; synthetic val MAE {q['int8_val_mae']:.3f} "
            f"vs FP32 {q['fp32_val_mae']:.3f} deg",
        },
        overwrite=True,
    )


def _quantize(
    proto, size: int, variant: str, calibration_images: int, max_drop_deg: float
) -> tuple[Any, dict[str, Any]]:
    from headpose.compression.quantization import PTQConfig, count_qdq, ptq_within_budget

    config = PTQConfig(
        max_drop_deg=max_drop_deg, calibration_images=calibration_images, validation_images=calibration_images
    )
    if variant not in config.variants:
        raise ConfigError(f"--int8-variant {variant!r}: choose one of {sorted(config.variants)}")
    calibration = synthetic_crops(calibration_images, size, CALIBRATION_SEED)
    val = synthetic_crops(calibration_images, size, VALIDATION_SEED)
    quantized, report = ptq_within_budget(proto, calibration, val, size, config.variants[variant], config)
    summary = {
        "variant": variant,
        "target": config.variants[variant].target,
        "max_drop_deg": max_drop_deg,
        "val_images": report["val_images"],
        "fp32_val_mae": report["fp32_val_mae"],
        "int8_val_mae": report["int8_val_mae"],
        "drop_deg": report["drop_deg"],
        "float_units": report["float_units"],
        "int8_units": report["int8_units"],
        "qdq": count_qdq(quantized),
    }
    if not report["within_budget"]:
        raise GateError(
            f"INT8 ({variant}) misses the accuracy budget: synthetic val MAE "
            f"{report['int8_val_mae']:.3f} vs FP32 {report['fp32_val_mae']:.3f} deg (drop "
            f"{report['drop_deg']:.3f} > --max-drop {max_drop_deg}) even with "
            f"{', '.join(report['float_units'])} in float; ship FP32 or raise --max-drop"
        )
    if not summary["int8_units"]:
        raise GateError(
            f"INT8 ({variant}): every unit had to stay in float to meet --max-drop {max_drop_deg}; "
            "the file would not be quantised -- ship FP32"
        )
    return quantized, summary
