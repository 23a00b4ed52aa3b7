from kedro.pipeline import Node, Pipeline

from headpose.pipelines.prune.nodes import prune_teacher


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                prune_teacher,
                [
                    "teacher_model",
                    "train_faces",
                    "val_faces",
                    "test_faces",
                    "real_test_faces",
                    "params:prune",
                ],
                ["pruned_model", "prune_metrics", "prune_report", "prune_channels_plot"],
                name="prune_teacher",
            ),
        ]
    )
