from kedro.pipeline import Node, Pipeline

from headpose.pipelines.train.nodes import evaluate_teacher, train_model


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                train_model,
                ["train_faces", "val_faces", "params:train"],
                ["teacher_model", "teacher_training_history"],
                name="train_teacher",
            ),
            Node(
                evaluate_teacher,
                ["teacher_model", "test_faces", "real_test_faces"],
                ["teacher_metrics", "teacher_evaluation", "teacher_error_plot"],
                name="evaluate_teacher",
            ),
        ]
    )
