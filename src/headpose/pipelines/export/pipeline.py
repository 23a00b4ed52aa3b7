from kedro.pipeline import Node, Pipeline

from headpose.pipelines.artifacts import MODELS, as_inputs
from headpose.pipelines.export.nodes import export_models


def create_pipeline(**kwargs) -> Pipeline:
    # Which of the models are exported is set in parameters (export.models).
    return Pipeline(
        [
            Node(
                export_models,
                {"test": "test_faces", "export": "params:export", **as_inputs(*MODELS)},
                ["onnx_models", "onnx_parity_report", "export_metrics"],
                name="export_onnx",
            ),
        ]
    )
