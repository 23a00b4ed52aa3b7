from kedro.pipeline import Node, Pipeline

from headpose.pipelines.data.nodes import (
    describe_splits,
    mix_training_data,
    preview_augmentation,
    read_real_datasets,
    render_synthetic,
    select_calibration,
    split_dataset,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(render_synthetic, "params:synth", "synthetic_faces", name="render_synthetic"),
            Node(
                read_real_datasets,
                ["params:real_datasets", "params:synth.image_size"],
                ["real_train_faces", "real_test_faces", "real_skip_report"],
                name="read_real_datasets",
            ),
            Node(
                mix_training_data,
                ["synthetic_faces", "real_train_faces", "pseudolabel_faces", "profiled_faces", "params:mix"],
                "training_pool",
                name="mix_training_data",
            ),
            Node(
                split_dataset,
                ["training_pool", "params:split"],
                ["train_faces", "val_faces", "test_faces"],
                name="split_dataset",
            ),
            Node(
                select_calibration,
                ["train_faces", "params:calibration"],
                "calibration_faces",
                name="select_calibration",
            ),
            Node(
                describe_splits,
                ["train_faces", "val_faces", "test_faces", "calibration_faces"],
                ["data_metrics", "angle_histograms_plot"],
                name="describe_splits",
            ),
            Node(
                preview_augmentation,
                ["train_faces", "params:augment"],
                "augmentation_preview_plot",
                name="preview_augmentation",
            ),
        ]
    )
