from kedro.pipeline import Node, Pipeline

from headpose.pipelines.artifacts import CHECKPOINTS, SHIPPING_DECISION, as_inputs
from headpose.pipelines.register.nodes import register_model


def create_pipeline(**kwargs) -> Pipeline:
    # The candidate's PyTorch checkpoint is registered beside its ONNX; the shipping decision picks it.
    inputs = {
        "rows": "benchmark_report",
        "test": "test_faces",
        "real_test": "real_test_faces",
        "register": "params:register",
        "export": "params:export",
        **as_inputs(*CHECKPOINTS, SHIPPING_DECISION),
    }
    return Pipeline([Node(register_model, inputs, "registration_report", name="register_model")])
