"""Post-training INT8 quantisation to Q/DQ ONNX with ONNX Runtime, guarded by an accuracy budget.

Two variants of one FP32 ONNX model, both QDQ, per-channel weights:

- ``cpu`` (U8S8) for ONNX Runtime on x86 CPUs: uint8 asymmetric activations, int8 symmetric weights
  (``reduce_range`` on CPUs without VNNI, where 8-bit products can saturate);
- ``trt`` (S8S8) for TensorRT's explicit quantisation: int8 symmetric activations and weights.

Calibration runs on the angle-stratified calibration FaceSet through the same preprocessing as
training (``to_model_input``). Sensitivity is measured per unit (the head, and the backbone cut into
contiguous groups of layers): quantise only that unit and measure the validation MAE it costs.
Units then stay in float, the head first and the most sensitive next, until the INT8 model is
within ``max_drop_deg`` of its FP32 parent. :mod:`headpose.compression.shipping` decides whether INT8 pays.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

from headpose.config import Config, knob
from headpose.data.faceset import FaceSet
from headpose.data.preprocess import to_model_input
from headpose.deploy.runtime import onnx_predictor
from headpose.errors import ConfigError
from headpose.evaluation import faceset_mae

log = logging.getLogger(__name__)

_QUANT_TYPES = {"uint8": QuantType.QUInt8, "int8": QuantType.QInt8}
_CALIBRATION = {
    "minmax": CalibrationMethod.MinMax,
    "entropy": CalibrationMethod.Entropy,
    "percentile": CalibrationMethod.Percentile,
}
HEAD = "head"


@dataclass(frozen=True)
class Variant(Config, section="quantize.ptq.variants"):
    activation_type: str = knob("uint8", choices=tuple(_QUANT_TYPES))
    weight_type: str = knob("int8", choices=tuple(_QUANT_TYPES))
    symmetric_activations: bool = False
    reduce_range: bool = False
    per_channel: bool = True
    target: str = "onnxruntime-cpu"  # what the variant is for (recorded in reports)


@dataclass(frozen=True)
class PTQConfig(Config, section="quantize.ptq"):
    max_drop_deg: float = knob(0.3, lo=0.0)  # INT8 MAE may exceed its FP32 parent's by at most this
    keep_head_float: bool = True  # regression heads first: they collapse under INT8
    calibration_method: str = knob("minmax", choices=tuple(_CALIBRATION))
    calibration_images: int | None = knob(512, lo=1)  # null: the whole calibration set
    calibration_batch_size: int = knob(32, lo=1)
    sensitivity_groups: int = knob(6, lo=1)  # backbone units for the sensitivity scan
    validation_images: int | None = knob(600, lo=1)  # validation subset for sensitivity and the budget loop
    variants: dict[str, Variant] = knob(
        {
            "cpu": Variant("uint8", "int8", False, True, True, "onnxruntime-cpu"),  # U8S8
            "trt": Variant("int8", "int8", True, False, True, "tensorrt"),  # S8S8
        }
    )


class FaceSetCalibrationReader(CalibrationDataReader):
    """Feeds calibration crops to ONNX Runtime's calibrator, preprocessed exactly as in training."""

    def __init__(
        self,
        faceset: FaceSet,
        input_size: int,
        input_name: str = "image",
        batch_size: int = 32,
        max_images: int | None = None,
    ) -> None:
        if not len(faceset):
            raise ConfigError(
                "INT8 calibration needs a non-empty calibration FaceSet (data pipeline: calibration)"
            )
        self.faceset, self.input_size, self.input_name = faceset, input_size, input_name
        self.batch_size = batch_size
        self.count = len(faceset) if max_images is None else min(max_images, len(faceset))
        self._starts = iter(())
        self.rewind()

    def __len__(self) -> int:
        return self.count

    def get_next(self) -> dict[str, np.ndarray] | None:
        start = next(self._starts, None)
        if start is None:
            return None
        stop = min(start + self.batch_size, self.count)
        return {self.input_name: to_model_input(self.faceset.images[start:stop], self.input_size)}

    def rewind(self) -> None:
        self._starts = iter(range(0, self.count, self.batch_size))


def _weight_names(model: onnx.ModelProto) -> dict[str, str]:
    """Node name -> name of its constant weight, for Conv / Gemm / MatMul nodes that have one."""
    initializers = {i.name for i in model.graph.initializer}
    return {
        n.name: n.input[1]
        for n in model.graph.node
        if n.op_type in ("Conv", "Gemm", "MatMul") and len(n.input) > 1 and n.input[1] in initializers
    }


def quantization_units(
    model: onnx.ModelProto, groups: int, backbone_prefix: str = "model.backbone."
) -> dict[str, list[str]]:
    """Node names grouped into units: ``head`` (from the first weighted layer outside the backbone to
    the output) and ``backbone.K`` (contiguous runs of backbone layers, each with the activation ops
    that follow them). The exporter names weights after the module path (model.backbone.layer1...)."""
    weights = _weight_names(model)
    nodes = [n.name for n in model.graph.node]
    weighted = [i for i, n in enumerate(nodes) if n in weights]
    head_start = next((i for i in weighted if not weights[nodes[i]].startswith(backbone_prefix)), len(nodes))
    backbone = [i for i in weighted if i < head_start]
    units: dict[str, list[str]] = {}
    if backbone:
        chunks = [c for c in np.array_split(np.asarray(backbone), min(groups, len(backbone))) if len(c)]
        starts = [0] + [int(c[0]) for c in chunks[1:]] + [head_start]
        for k in range(len(chunks)):
            units[f"backbone.{k}"] = nodes[starts[k] : starts[k + 1]]
    else:
        units["backbone.0"] = nodes[:head_start]
    units[HEAD] = nodes[head_start:]
    return {k: v for k, v in units.items() if v}


def _onnx_mae(path: Path, faceset: FaceSet, input_size: int) -> float:
    return faceset_mae(onnx_predictor(path, threads=None).predict, faceset, input_size)


class Quantizer:
    """Quantises one FP32 ONNX model again and again (sensitivity scan, budget loop) from one
    calibration pass: ranges are cached in a private temporary directory that lives as long as this
    object, so they can never be reused for another model (no stale calibration caches)."""

    def __init__(
        self, fp32: onnx.ModelProto, calibration: FaceSet, input_size: int, config: PTQConfig
    ) -> None:
        self.config, self.input_size = config, input_size
        self._tmp = tempfile.TemporaryDirectory(prefix="headpose-ptq-")
        self.dir = Path(self._tmp.name)
        raw = self.dir / "fp32.onnx"
        onnx.save_model(fp32, str(raw))
        self.fp32_path = self.dir / "fp32.pre.onnx"
        quant_pre_process(str(raw), str(self.fp32_path))
        self.model = onnx.load(str(self.fp32_path))
        self.input_name = self.model.graph.input[0].name
        self.calibration = calibration
        self._count = 0

    def close(self) -> None:
        self._tmp.cleanup()

    def __enter__(self) -> Quantizer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def quantize(self, variant: Variant, exclude: list[str]) -> Path:
        self._count += 1
        out = self.dir / f"q{self._count}.onnx"
        c = self.config
        reader = FaceSetCalibrationReader(
            self.calibration, self.input_size, self.input_name, c.calibration_batch_size, c.calibration_images
        )
        quantize_static(
            str(self.fp32_path),
            str(out),
            reader,
            quant_format=QuantFormat.QDQ,
            per_channel=variant.per_channel,
            reduce_range=variant.reduce_range,
            activation_type=_QUANT_TYPES[variant.activation_type],
            weight_type=_QUANT_TYPES[variant.weight_type],
            nodes_to_exclude=list(exclude),
            calibrate_method=_CALIBRATION[c.calibration_method],
            extra_options={"ActivationSymmetric": variant.symmetric_activations, "WeightSymmetric": True},
            # Symmetric activations are calibrated differently (ORT's calibrator centres the range).
            calibration_cache_path=str(
                self.dir / f"ranges.{c.calibration_method}.{variant.symmetric_activations}.json"
            ),
        )
        return out


def ptq_within_budget(
    fp32: onnx.ModelProto,
    calibration: FaceSet,
    val: FaceSet,
    input_size: int,
    variant: Variant,
    config: PTQConfig,
) -> tuple[onnx.ModelProto, dict[str, Any]]:
    """Quantise ``fp32`` with ``variant``, keeping the fewest, most sensitive units in float so that the
    validation MAE is within ``config.max_drop_deg`` of FP32. Returns the Q/DQ model and a report
    (``within_budget`` false when even the last attempt misses the budget).
    """
    if config.validation_images is not None and len(val) > config.validation_images:
        # Evenly spaced, so the subset spans the split's whole angle range.
        val = val.subset(np.linspace(0, len(val) - 1, config.validation_images).round().astype(int))
    with Quantizer(fp32, calibration, input_size, config) as q:
        units = quantization_units(q.model, config.sensitivity_groups)
        fp32_mae = _onnx_mae(q.fp32_path, val, input_size)
        sensitivity = {}
        for name in units:
            others = [n for other, nodes in units.items() if other != name for n in nodes]
            mae = _onnx_mae(q.quantize(variant, others), val, input_size)
            sensitivity[name] = {"mae": mae, "increase_deg": mae - fp32_mae, "nodes": len(units[name])}
        order = sorted(units, key=lambda u: -sensitivity[u]["increase_deg"])
        if config.keep_head_float and HEAD in order:
            order.remove(HEAD)
            order.insert(0, HEAD)
        in_float: list[str] = [HEAD] if config.keep_head_float and HEAD in units else []
        attempts = []
        while True:
            path = q.quantize(variant, [n for u in in_float for n in units[u]])
            mae = _onnx_mae(path, val, input_size)
            attempts.append({"float_units": list(in_float), "mae": mae, "drop_deg": mae - fp32_mae})
            log.info("PTQ with %s in float: val MAE %.3f (FP32 %.3f)", in_float or "nothing", mae, fp32_mae)
            remaining = [u for u in order if u not in in_float]
            if mae - fp32_mae <= config.max_drop_deg or not remaining:
                break
            in_float.append(remaining[0])
        quantized = onnx.load(str(path))
    report = {
        "variant": asdict(variant),
        "val_images": len(val),
        "fp32_val_mae": fp32_mae,
        "int8_val_mae": mae,
        "drop_deg": mae - fp32_mae,
        "within_budget": mae - fp32_mae <= config.max_drop_deg,
        "float_units": in_float,
        "int8_units": [u for u in units if u not in in_float],
        "float_nodes": [n for u in in_float for n in units[u]],
        "sensitivity": sensitivity,
        "attempts": attempts,
    }
    return quantized, report


def count_qdq(model: onnx.ModelProto) -> dict[str, int]:
    ops = [n.op_type for n in model.graph.node]
    return {"QuantizeLinear": ops.count("QuantizeLinear"), "DequantizeLinear": ops.count("DequantizeLinear")}


def ptq_variants(
    fp32: onnx.ModelProto,
    calibration: FaceSet,
    val: FaceSet,
    input_size: int,
    config: PTQConfig,
    names: tuple[str, ...],
) -> tuple[list[onnx.ModelProto], dict[str, Any]]:
    """:func:`ptq_within_budget` for each variant in ``names`` (all of ``config.variants``, no more, no
    less): the models in that order and the reports by variant, each with its Q/DQ counts."""
    if set(names) != set(config.variants):
        raise ConfigError(
            f"quantize.ptq.variants: the pipeline writes one INT8 model for each of "
            f"{list(names)}; configured are {sorted(config.variants)}"
        )
    models, report = [], {}
    for name in names:
        variant = config.variants[name]
        model, report[name] = ptq_within_budget(fp32, calibration, val, input_size, variant, config)
        report[name]["qdq"] = count_qdq(model)
        models.append(model)
    return models, report
