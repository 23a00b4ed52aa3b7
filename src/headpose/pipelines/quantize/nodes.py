"""Quantize stage nodes: FP32 ONNX of each student, INT8 by PTQ (CPU and TensorRT flavours) and QAT,
then one measured decision on which artifact ships."""

from __future__ import annotations

import logging
import math
import tempfile
from pathlib import Path
from typing import Any

import onnx
from matplotlib.figure import Figure

from headpose.compression.gates import GATED_SETS, gate_record
from headpose.compression.latency import onnx_latencies
from headpose.compression.profile import as_metrics, latency_vs_mae_figure
from headpose.compression.qat import QATConfig, quantization_aware_finetune
from headpose.compression.quantization import PTQConfig, choose_shipping, count_qdq, ptq_within_budget
from headpose.data.faceset import FaceSet
from headpose.data.preprocess import to_model_input
from headpose.deploy.onnx_export import check_parity, save_onnx, to_onnx_proto
from headpose.deploy.runtime import onnx_predictor
from headpose.errors import ConfigError, GateError
from headpose.evaluation import faceset_mae, pose_metrics, predict_faceset
from headpose.flops import count_macs, count_params
from headpose.training.checkpoint import Checkpoint
from headpose.training.config import TrainConfig

log = logging.getLogger(__name__)
PTQ_VARIANTS = ("cpu", "trt")  # keys of quantize.ptq.variants, one catalog entry each


def _parity(
    model, proto: onnx.ModelProto, test: FaceSet, input_size: int, images: int, tol_deg: float
) -> dict:
    with tempfile.TemporaryDirectory(prefix="headpose-parity-") as tmp:
        path = save_onnx(proto, Path(tmp) / "model.onnx")
        return check_parity(model, path, to_model_input(test.images[:images], input_size), tol_deg)


def export_fp32(student: Checkpoint, test: FaceSet, quantize: dict[str, Any]) -> tuple[onnx.ModelProto, dict]:
    """The FP32 ONNX every INT8 variant is measured against, parity-checked against PyTorch."""
    proto = to_onnx_proto(student.model, student.input_size, quantize["opset"], quantize["simplify"])
    parity = _parity(
        student.model, proto, test, student.input_size, quantize["parity_images"], quantize["parity_tol_deg"]
    )
    return proto, parity


def quantize_ptq(
    fp32: onnx.ModelProto, student: Checkpoint, calibration: FaceSet, val: FaceSet, quantize: dict[str, Any]
) -> tuple[onnx.ModelProto, onnx.ModelProto, dict]:
    """Static INT8 (Q/DQ) of the FP32 ONNX, one model per variant, sensitive units kept in float."""
    config = PTQConfig.from_dict(quantize["ptq"])
    missing = [v for v in PTQ_VARIANTS if v not in config.variants]
    if missing:
        raise ConfigError(
            f"quantize.ptq.variants lacks {missing}: the pipeline writes one INT8 model per {PTQ_VARIANTS}"
        )
    models, report = [], {}
    for name in PTQ_VARIANTS:
        model, report[name] = ptq_within_budget(
            fp32, calibration, val, student.input_size, config.variants[name], config
        )
        report[name]["qdq"] = count_qdq(model)
        models.append(model)
    return models[0], models[1], report


def quantize_qat(
    student: Checkpoint, train: FaceSet, val: FaceSet, test: FaceSet, quantize: dict[str, Any]
) -> tuple[onnx.ModelProto, dict]:
    """Quantisation-aware fine-tune of the student, exported as Q/DQ ONNX."""
    config = QATConfig.from_dict(quantize["qat"])
    train_config = TrainConfig.from_dict(
        {**student.meta.get("train_config", {}), **config.train, "input_size": student.input_size}
    )
    converted, result = quantization_aware_finetune(student.model, train, val, train_config, config)
    proto = to_onnx_proto(converted, student.input_size, quantize["opset"], quantize["simplify"])
    # Reported, not gated: ONNX Runtime's fused integer kernels round differently from PyTorch's
    # reference quantize/dequantize ops. The gate is the ONNX Runtime test MAE in decide_shipping.
    parity = _parity(converted, proto, test, student.input_size, quantize["parity_images"], math.inf)
    report = {
        "best_val_mae": result.best_val_mae,
        "best_epoch": result.best_epoch,
        "seconds": result.seconds,
        "history": result.history,
        "ort_vs_pytorch": parity,
        "qdq": count_qdq(proto),
        "config": quantize["qat"],
    }
    return proto, report


def decide_shipping(
    test: FaceSet, real_test: FaceSet, quantize: dict[str, Any], **artifacts: Any
) -> tuple[dict, dict, dict, Figure]:
    """Measure every FP32 and INT8 ONNX model on the same test sets and the same core (interleaved
    latency rounds), gate each INT8 model against its FP32 parent and name the artifact that ships.
    Where a real labelled set is configured, the decision compares its MAE.

    ``artifacts``: ``<student>_model`` checkpoints and ``<name>_onnx`` models, where ``<name>`` is
    ``<student>_fp32`` or ``<student>_int8_<variant>``.
    """
    checkpoints = {k[: -len("_model")]: v for k, v in artifacts.items() if k.endswith("_model")}
    onnx_models = {k[: -len("_onnx")]: v for k, v in artifacts.items() if k.endswith("_onnx")}
    footprint = {
        name: {"params": count_params(c.model), "macs": count_macs(c.model, c.input_size)}
        for name, c in checkpoints.items()
    }
    rows: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="headpose-decide-") as tmp:
        paths = {}
        for name, proto in onnx_models.items():
            student = name.split("_fp32")[0].split("_int8_")[0]
            fp32 = name.endswith("_fp32")
            # FP32 rows take the student's own name: the export stage ships FP32 under that name.
            row_name = student if fp32 else name
            paths[row_name] = save_onnx(proto, Path(tmp) / f"{row_name}.onnx")
            checkpoint = checkpoints[student]
            predictor = onnx_predictor(paths[row_name], threads=None).predict
            metrics = pose_metrics(predict_faceset(predictor, test, checkpoint.input_size), test.angles)
            rows[row_name] = {
                "precision": "fp32" if fp32 else "int8",
                "parent": None if fp32 else student,
                "dataset": f"{student}_model" if fp32 else f"{name}_onnx",
                "input_size": checkpoint.input_size,
                **footprint[student],
                "size_bytes": proto.ByteSize(),
                **{k: metrics[k] for k in ("mae", "yaw", "pitch", "roll")},
                "mae_real": faceset_mae(predictor, real_test, checkpoint.input_size),
            }
        sizes = {row["input_size"] for row in rows.values()}
        timings = {}
        for size in sizes:
            timings.update(
                onnx_latencies(
                    {n: p for n, p in paths.items() if rows[n]["input_size"] == size},
                    size,
                    **quantize["latency"],
                )
            )
    for name, row in rows.items():
        row.update(latency_ms=timings[name]["p50_ms"], latency_p99_ms=timings[name]["p99_ms"])
        if row["parent"]:
            row["gates"] = [gate_record(f"quantize.{name}", rows[row["parent"]][key], row[key], quantize["max_drop_deg"],
                                        dataset) for key, dataset in GATED_SETS.items() if row[key] is not None]
    metric = "mae_real" if real_test is not None and len(real_test) else "mae"
    decision = choose_shipping(
        [{"name": n, **r} for n, r in rows.items()], quantize["max_drop_deg"], quantize["min_speedup"], metric
    )
    decision["dataset"] = rows[decision["ships"]]["dataset"]
    log.info("ships: %s (%s)", decision["ships"], decision["reason"])
    if quantize["require_int8"] and decision["precision"] != "int8":
        raise GateError(
            f"quantize: no INT8 model passes (max_drop_deg {quantize['max_drop_deg']}, "
            f"min_speedup {quantize['min_speedup']}) and quantize.require_int8 is set: {decision['reason']}"
        )
    figure = latency_vs_mae_figure(
        rows, "latency_ms", "ONNX Runtime CPU: FP32 vs INT8", highlight=decision["ships"]
    )
    metrics = as_metrics({n: {k: v for k, v in r.items() if k != "input_size"} for n, r in rows.items()})
    metrics["ships_int8"] = {"value": float(decision["precision"] == "int8"), "step": 0}
    return decision, metrics, {"models": rows, "decision": decision}, figure
