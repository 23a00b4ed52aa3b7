from kedro.pipeline import Node, Pipeline

from headpose.pipelines.build.nodes import build_engines


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                build_engines,
                ["onnx_models", "params:build"],
                ["tensorrt_engines", "tensorrt_build_report"],
                name="build_tensorrt",
            )
        ]
    )
