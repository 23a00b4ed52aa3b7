from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline

from headpose.pipelines.distill.nodes import compare_students, distill_student

# Catalog entries of the students (keys of distill.students in parameters_distill.yml).
STUDENTS = ("student", "student_relu")


def create_pipeline(**kwargs) -> Pipeline:
    nodes = []
    for key in STUDENTS:
        node_fn = update_wrapper(partial(distill_student, key=key), distill_student)
        nodes.append(
            Node(
                node_fn,
                ["teacher_model", "pruned_model", "train_faces", "val_faces", "test_faces", "real_test_faces",
                 "params:distill"],
                [f"{key}_model", f"{key}_training_history"],
                name=f"distill_{key}",
            )
        )
    nodes += [
        Node(
            compare_students,
            {
                "teacher_model": "teacher_model",
                "pruned_model": "pruned_model",
                "test": "test_faces",
                "real_test": "real_test_faces",
                "distill": "params:distill",
                **{key: f"{key}_model" for key in STUDENTS},
            },
            ["distill_metrics", "distill_report", "distill_latency_vs_mae_plot"],
            name="compare_students",
        ),
    ]
    return Pipeline(nodes)
