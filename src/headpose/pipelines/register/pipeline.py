from kedro.pipeline import Node, Pipeline

from headpose.pipelines.export.pipeline import upstream_inputs
from headpose.pipelines.register.nodes import register_model

# The candidate's PyTorch checkpoint is registered beside its ONNX; the shipping decision picks it.
UPSTREAM = ("teacher_model", "pruned_model", "student_model", "student_relu_model", "shipping_decision")


def create_pipeline(**kwargs) -> Pipeline:
    inputs = {"rows": "benchmark_report", "test": "test_faces", "real_test": "real_test_faces", "register": "params:register",
              "export": "params:export", **upstream_inputs(*UPSTREAM)}
    return Pipeline([Node(register_model, inputs, "registration_report", name="register_model")])
