"""Quantize stage nodes: FP32 ONNX of each student, INT8 by PTQ (one model per variant) and QAT,
then one measured decision on which artifact ships (headpose.compression.shipping)."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

import onnx
from matplotlib.figure import Figure

from headpose.compression import shipping
from headpose.compression.qat import quantization_aware_finetune
from headpose.compression.quantization import count_qdq, ptq_variants
from headpose.compression.recipe import inherit_recipe
from headpose.compression.shipping import Candidate, QuantizeConfig
from headpose.data.faceset import FaceSet
from headpose.data.preprocess import to_model_input
from headpose.deploy.onnx_export import check_proto_parity, to_onnx_proto
from headpose.pipelines.artifacts import PTQ_VARIANTS, QUANTIZED, STUDENTS, checkpoint
from headpose.training.checkpoint import Checkpoint


def export_fp32(student: Checkpoint, test: FaceSet, quantize: QuantizeConfig) -> tuple[onnx.ModelProto, dict]:
    """The FP32 ONNX every INT8 variant is measured against, parity-checked against PyTorch."""
    proto = to_onnx_proto(student.model, student.input_size, quantize.opset, quantize.simplify)
    batch = to_model_input(test.images[: quantize.parity_images], student.input_size)
    return proto, check_proto_parity(student.model, proto, batch, quantize.parity_tol_deg)


def quantize_ptq(
    fp32: onnx.ModelProto, student: Checkpoint, calibration: FaceSet, val: FaceSet, quantize: QuantizeConfig
) -> tuple[onnx.ModelProto | dict, ...]:
    """Static INT8 (Q/DQ) of the FP32 ONNX, one model per PTQ variant, sensitive units kept in float."""
    models, report = ptq_variants(fp32, calibration, val, student.input_size, quantize.ptq, PTQ_VARIANTS)
    return (*models, report)


def quantize_qat(
    student: Checkpoint, train: FaceSet, val: FaceSet, test: FaceSet, quantize: QuantizeConfig
) -> tuple[onnx.ModelProto, dict]:
    """Quantisation-aware fine-tune of the student (its recipe under ``quantize.qat.train``), as Q/DQ ONNX."""
    train_config = inherit_recipe(student.meta, quantize.qat.train, input_size=student.input_size)
    converted, result = quantization_aware_finetune(student.model, train, val, train_config, quantize.qat)
    proto = to_onnx_proto(converted, student.input_size, quantize.opset, quantize.simplify)
    # Reported, not gated: ONNX Runtime's fused integer kernels round differently from PyTorch's
    # reference quantize/dequantize ops. The gate is the ONNX Runtime test MAE in the shipping decision.
    batch = to_model_input(test.images[: quantize.parity_images], student.input_size)
    parity = check_proto_parity(converted, proto, batch, math.inf)
    report = {
        "best_val_mae": result.best_val_mae,
        "best_epoch": result.best_epoch,
        "seconds": result.seconds,
        "history": result.history,
        "ort_vs_pytorch": parity,
        "qdq": count_qdq(proto),
        "config": asdict(quantize.qat),
    }
    return proto, report


def decide_shipping(
    test: FaceSet, real_test: FaceSet, quantize: QuantizeConfig, **artifacts: Any
) -> tuple[dict, dict, dict, Figure]:
    """Measure every FP32 and INT8 ONNX model alike, gate each INT8 model against its FP32 parent and
    name the artifact that ships. ``artifacts``: the students' checkpoints and every ONNX model of
    QUANTIZED, under their catalog names."""
    candidates = [Candidate(q.name, q.student, q.precision, q.shipped, artifacts[q.onnx]) for q in QUANTIZED]
    checkpoints = {s: artifacts[checkpoint(s)] for s in STUDENTS}
    rows = shipping.measure_candidates(candidates, checkpoints, test, real_test, quantize.latency)
    decision = shipping.decide(rows, quantize)
    figure = shipping.shipping_figure(rows, decision["ships"])
    return decision, shipping.shipping_metrics(rows, decision), {"models": rows, "decision": decision}, figure
