from kedro.pipeline import Node, Pipeline

from headpose.pipelines.artifacts import (
    PTQ_VARIANTS,
    QAT_STUDENT,
    QAT_VARIANT,
    QUANTIZED,
    SHIPPING_DECISION,
    STUDENTS,
    as_inputs,
    checkpoint,
    fp32_onnx,
    int8_onnx,
)
from headpose.pipelines.quantize.nodes import decide_shipping, export_fp32, quantize_ptq, quantize_qat


def create_pipeline(**kwargs) -> Pipeline:
    nodes = []
    for key in STUDENTS:
        ptq_inputs = [fp32_onnx(key), checkpoint(key), "calibration_faces", "val_faces", "params:quantize"]
        nodes += [
            Node(
                export_fp32,
                [checkpoint(key), "test_faces", "params:quantize"],
                [fp32_onnx(key), f"{key}_fp32_parity"],
                name=f"export_{key}_fp32",
            ),
            Node(
                quantize_ptq,
                ptq_inputs,
                [*(int8_onnx(key, v) for v in PTQ_VARIANTS), f"{key}_ptq_report"],
                name=f"ptq_{key}",
            ),
        ]
    qat_inputs = [checkpoint(QAT_STUDENT), "train_faces", "val_faces", "test_faces", "params:quantize"]
    qat_outputs = [int8_onnx(QAT_STUDENT, QAT_VARIANT), f"{QAT_STUDENT}_qat_report"]
    nodes.append(Node(quantize_qat, qat_inputs, qat_outputs, name=f"qat_{QAT_STUDENT}"))
    inputs = {
        "test": "test_faces",
        "real_test": "real_test_faces",
        "quantize": "params:quantize",
        **as_inputs(*(checkpoint(s) for s in STUDENTS), *(q.onnx for q in QUANTIZED)),
    }
    outputs = [SHIPPING_DECISION, "quantize_metrics", "quantize_report", "quantize_latency_vs_mae_plot"]
    nodes.append(Node(decide_shipping, inputs, outputs, name="decide_shipping"))
    return Pipeline(nodes)
