from kedro.pipeline import Node, Pipeline

from headpose.pipelines.artifacts import CHECKPOINTS, as_inputs
from headpose.pipelines.benchmark.nodes import benchmark_artifacts


def create_pipeline(**kwargs) -> Pipeline:
    inputs = {
        "test": "test_faces",
        "real_test": "real_test_faces",
        "onnx_models": "onnx_models",
        "onnx_report": "onnx_parity_report",
        "engines": "tensorrt_engines",
        "build_report": "tensorrt_build_report",
        "export": "params:export",
        "benchmark": "params:benchmark",
        **as_inputs(*CHECKPOINTS),
    }
    return Pipeline(
        [
            Node(
                benchmark_artifacts,
                inputs,
                ["benchmark_report", "benchmark_table", "benchmark_plot", "benchmark_metrics"],
                name="benchmark_artifacts",
            )
        ]
    )
