"""Not part of the default DAG: `kedro run --pipelines distill_baseline` after `distill`."""

from kedro.pipeline import Node, Pipeline

from headpose.pipelines.artifacts import STUDENTS, checkpoint
from headpose.pipelines.distill_baseline.nodes import compare_with_scratch, train_scratch_student


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                train_scratch_student,
                ["train_faces", "val_faces", "teacher_model", "params:distill"],
                ["student_scratch_model", "student_scratch_training_history"],
                name="train_student_scratch",
            ),
            Node(
                compare_with_scratch,
                {
                    "scratch": "student_scratch_model",
                    "test": "test_faces",
                    "distill": "params:distill",
                    **{key: checkpoint(key) for key in STUDENTS},
                },
                ["distill_baseline_metrics", "distill_baseline_report"],
                name="compare_with_scratch",
            ),
        ]
    )
