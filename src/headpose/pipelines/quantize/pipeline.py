from kedro.pipeline import Node, Pipeline

from headpose.pipelines.quantize.nodes import (
    PTQ_VARIANTS,
    decide_shipping,
    export_fp32,
    quantize_ptq,
    quantize_qat,
)

STUDENTS = ("student", "student_relu")  # checkpoints of the distill stage
QAT_STUDENT = "student_relu"  # the INT8-friendly student (ReLU6, no hardswish / squeeze-excite)


def create_pipeline(**kwargs) -> Pipeline:
    nodes = []
    for key in STUDENTS:
        nodes += [
            Node(
                export_fp32,
                [f"{key}_model", "test_faces", "params:quantize"],
                [f"{key}_fp32_onnx", f"{key}_fp32_parity"],
                name=f"export_{key}_fp32",
            ),
            Node(
                quantize_ptq,
                [f"{key}_fp32_onnx", f"{key}_model", "calibration_faces", "val_faces", "params:quantize"],
                [*(f"{key}_int8_{v}_onnx" for v in PTQ_VARIANTS), f"{key}_ptq_report"],
                name=f"ptq_{key}",
            ),
        ]
    nodes.append(
        Node(
            quantize_qat,
            [f"{QAT_STUDENT}_model", "train_faces", "val_faces", "test_faces", "params:quantize"],
            [f"{QAT_STUDENT}_int8_qat_onnx", f"{QAT_STUDENT}_qat_report"],
            name=f"qat_{QAT_STUDENT}",
        )
    )
    onnx_names = [
        f"{key}_{suffix}_onnx"
        for key in STUDENTS
        for suffix in ("fp32", *(f"int8_{v}" for v in PTQ_VARIANTS))
    ]
    onnx_names.append(f"{QAT_STUDENT}_int8_qat_onnx")
    nodes.append(
        Node(
            decide_shipping,
            {
                "test": "test_faces",
                "real_test": "real_test_faces",
                "quantize": "params:quantize",
                **{f"{k}_model": f"{k}_model" for k in STUDENTS},
                **{name: name for name in onnx_names},
            },
            ["shipping_decision", "quantize_metrics", "quantize_report", "quantize_latency_vs_mae_plot"],
            name="decide_shipping",
        )
    )
    return Pipeline(nodes)
