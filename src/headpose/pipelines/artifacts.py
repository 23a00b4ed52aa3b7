"""Catalog names the wiring needs, in one place: the students, their quantised models, the deploy inputs.

The catalog writes files for these names through dataset factories (conf/base/catalog_quantize.yml);
``distill.students`` and ``quantize.ptq.variants`` must name the same students and variants.
"""

from __future__ import annotations

from typing import NamedTuple

STUDENTS = ("student", "student_relu")  # keys of distill.students: the distill stage writes <key>_model
QAT_STUDENT = "student_relu"  # the INT8-friendly student (ReLU6, no hardswish / squeeze-excite)
PTQ_VARIANTS = ("cpu", "trt")  # keys of quantize.ptq.variants: U8S8 for ONNX Runtime, S8S8 for TensorRT
QAT_VARIANT = "qat"  # the INT8 model of quantisation-aware training
SHIPPING_DECISION = "shipping_decision"


def checkpoint(model: str) -> str:
    return f"{model}_model"


def fp32_onnx(student: str) -> str:
    return f"{student}_fp32_onnx"


def int8_onnx(student: str, variant: str) -> str:
    return f"{student}_int8_{variant}_onnx"


class Quantized(NamedTuple):
    """One ONNX model of the quantize stage."""

    name: str  # its row in the shipping decision: FP32 takes the student's name (export ships it so)
    student: str
    precision: str  # fp32 | int8
    onnx: str  # the catalog entry the quantize stage writes
    shipped: str  # the catalog entry the register stage finds the artifact by


def quantized_models(student: str) -> list[Quantized]:
    """The FP32 ONNX of ``student`` and its INT8 models (PTQ variants, and QAT for the QAT student)."""
    variants = (*PTQ_VARIANTS, QAT_VARIANT) if student == QAT_STUDENT else PTQ_VARIANTS
    int8 = [
        Quantized(f"{student}_int8_{v}", student, "int8", int8_onnx(student, v), int8_onnx(student, v))
        for v in variants
    ]
    return [Quantized(student, student, "fp32", fp32_onnx(student), checkpoint(student)), *int8]


QUANTIZED = tuple(q for student in STUDENTS for q in quantized_models(student))
CHECKPOINTS = tuple(checkpoint(m) for m in ("teacher", "pruned", *STUDENTS))
QUANTIZED_ONNX = tuple(q.onnx for q in QUANTIZED)  # FP32 and INT8 ONNX files made by the quantize stage
MODELS = CHECKPOINTS + QUANTIZED_ONNX  # what export.models may name


def as_inputs(*entries: str) -> dict[str, str]:
    """Node inputs ``{entry: entry}``: each artifact reaches the node under its catalog name."""
    return {entry: entry for entry in entries}
