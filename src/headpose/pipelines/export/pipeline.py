from kedro.pipeline import Node, Pipeline

from headpose.pipelines.export.nodes import export_models

# Upstream artifacts the deploy stages may use: catalog entry -> the stage that produces it.
# Which of them are exported, benchmarked and registered is set in parameters (export.models,
# benchmark.onnx); an entry is wired in only when its stage is registered, so the deploy stages run
# (and report the rest as missing) in projects without some compression stages.
UPSTREAM = {
    "teacher_model": "train",
    "pruned_model": "prune",
    "student_model": "distill",
    "student_relu_model": "distill",
    "student_fp32_onnx": "quantize",
    "student_relu_fp32_onnx": "quantize",
    "student_int8_cpu_onnx": "quantize",
    "student_int8_trt_onnx": "quantize",
    "student_relu_int8_cpu_onnx": "quantize",
    "student_relu_int8_trt_onnx": "quantize",
    "student_relu_int8_qat_onnx": "quantize",
    "shipping_decision": "quantize",
}


def upstream_inputs(*entries: str) -> dict[str, str]:
    """``{entry: entry}`` for the given upstream catalog entries whose producing stage is registered."""
    from headpose.pipeline_registry import STAGES  # imported late: the registry imports this module

    return {entry: entry for entry in entries if UPSTREAM[entry] in STAGES}


MODELS = tuple(entry for entry in UPSTREAM if entry != "shipping_decision")


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                export_models,
                {"test": "test_faces", "export": "params:export", **upstream_inputs(*MODELS)},
                ["onnx_models", "onnx_parity_report", "export_metrics"],
                name="export_onnx",
            ),
        ]
    )
