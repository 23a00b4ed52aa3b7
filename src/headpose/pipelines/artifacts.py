"""Catalog names of the models the deploy stages (export, benchmark, register) read: one list."""

CHECKPOINTS = ("teacher_model", "pruned_model", "student_model", "student_relu_model")
# FP32 and INT8 ONNX files made by the quantize stage
QUANTIZED_ONNX = (
    "student_fp32_onnx",
    "student_relu_fp32_onnx",
    "student_int8_cpu_onnx",
    "student_int8_trt_onnx",
    "student_relu_int8_cpu_onnx",
    "student_relu_int8_trt_onnx",
    "student_relu_int8_qat_onnx",
)
MODELS = CHECKPOINTS + QUANTIZED_ONNX
SHIPPING_DECISION = "shipping_decision"


def as_inputs(*entries: str) -> dict[str, str]:
    """Node inputs ``{entry: entry}``: each artifact reaches the node under its catalog name."""
    return {entry: entry for entry in entries}
