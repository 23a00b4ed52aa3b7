from kedro.pipeline import Node, Pipeline

from headpose.pipelines.artifacts import STUDENTS, checkpoint
from headpose.pipelines.distill.nodes import compare_students, student_node


def create_pipeline(**kwargs) -> Pipeline:
    student_inputs = [
        "teacher_model",
        "pruned_model",
        "train_faces",
        "val_faces",
        "test_faces",
        "real_test_faces",
        "params:distill",
    ]
    nodes = [
        Node(
            student_node(key),
            student_inputs,
            [checkpoint(key), f"{key}_training_history"],
            name=f"distill_{key}",
        )
        for key in STUDENTS
    ]
    inputs = {
        "teacher_model": "teacher_model",
        "pruned_model": "pruned_model",
        "test": "test_faces",
        "real_test": "real_test_faces",
        "distill": "params:distill",
        **{key: checkpoint(key) for key in STUDENTS},
    }
    outputs = ["distill_metrics", "distill_report", "distill_latency_vs_mae_plot"]
    nodes.append(Node(compare_students, inputs, outputs, name="compare_students"))
    return Pipeline(nodes)
