"""Pseudolabel stage nodes: thin wrappers over headpose.data.pseudolabel."""

from __future__ import annotations

import logging

import pandas as pd
from matplotlib.figure import Figure

from headpose.data.faceset import FaceSet
from headpose.data.pseudolabel.config import PseudolabelConfig
from headpose.data.pseudolabel.label import REPORT_COLUMNS
from headpose.data.pseudolabel.pools import pseudolabel_pools
from headpose.data.pseudolabel.report import pseudolabel_report
from headpose.evaluation import as_mlflow_metrics
from headpose.visualize import message_figure

log = logging.getLogger(__name__)


def pseudolabel_photos(pseudolabel: PseudolabelConfig) -> tuple[FaceSet, pd.DataFrame]:
    """Teacher labels and training-style crops of every configured pool's photos, plus a per-photo report.

    No pool configured (the default profile) gives no faces: the training mix is then synthetic."""
    if not pseudolabel.pools:
        log.info(
            "pseudolabel.pools is empty: no photos to label (kedro run --env real configures LFW and UTKFace)"
        )
        return FaceSet.empty(pseudolabel.image_size), pd.DataFrame(columns=REPORT_COLUMNS)
    return pseudolabel_pools(pseudolabel, progress=True)


def describe_pseudolabels(faces: FaceSet, report: pd.DataFrame) -> tuple[dict, dict, Figure, Figure]:
    """Counts per pool and status as MLflow metrics and a JSON summary; pose histograms; a preview grid."""
    if not len(report):
        blank = message_figure("no photo pools configured (pseudolabel.pools)")
        return as_mlflow_metrics({"photos": 0}), {"photos": 0, "faces": 0, "pools": {}}, blank, blank
    summary, histograms, preview = pseudolabel_report(report, faces)
    metrics = {"photos": summary["photos"], "faces": summary["faces"]}
    for pool, counts in summary["pools"].items():
        metrics.update(
            {
                f"{pool}.photos": counts["photos"],
                f"{pool}.faces": counts["faces"],
                f"{pool}.kept_fraction": counts["kept_fraction"],
            }
        )
        metrics.update({f"{pool}.status.{status}": n for status, n in counts["status"].items()})
    return as_mlflow_metrics(metrics), summary, histograms, preview
