from kedro.pipeline import Node, Pipeline

from headpose.pipelines.profile.nodes import profile_photos


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                profile_photos,
                ["pseudolabel_faces", "params:profile"],
                ["profiled_faces", "profile_preview_plot"],
                name="profile_photos",
            ),
        ]
    )
