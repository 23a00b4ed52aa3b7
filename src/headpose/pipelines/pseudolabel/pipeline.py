from kedro.pipeline import Node, Pipeline

from headpose.pipelines.pseudolabel.nodes import describe_pseudolabels, pseudolabel_photos


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                pseudolabel_photos,
                "params:pseudolabel",
                ["pseudolabel_faces", "pseudolabel_report_table"],
                name="pseudolabel_photos",
            ),
            Node(
                describe_pseudolabels,
                ["pseudolabel_faces", "pseudolabel_report_table"],
                [
                    "pseudolabel_metrics",
                    "pseudolabel_summary",
                    "pseudolabel_pose_histogram_plot",
                    "pseudolabel_preview_plot",
                ],
                name="describe_pseudolabels",
            ),
        ]
    )
