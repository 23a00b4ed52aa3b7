"""Pseudolabel stage nodes: thin wrappers over headpose.data.pseudolabel."""

from __future__ import annotations

from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from headpose.data.faceset import FaceSet
from headpose.data.pseudolabel import PseudolabelConfig, pseudolabel_pools, pseudolabel_report


def pseudolabel_photos(pseudolabel: dict[str, Any]) -> tuple[FaceSet, pd.DataFrame]:
    """Teacher labels and training-style crops of every configured pool's photos, plus a per-photo report."""
    return pseudolabel_pools(PseudolabelConfig.from_dict(pseudolabel), progress=True)


def describe_pseudolabels(faces: FaceSet, report: pd.DataFrame) -> tuple[dict, dict, Figure, Figure]:
    """Counts per pool and status as MLflow metrics and a JSON summary; pose histograms; a preview grid."""
    summary, histograms, preview = pseudolabel_report(report, faces)
    metrics = {"photos": summary["photos"], "faces": summary["faces"]}
    for pool, counts in summary["pools"].items():
        metrics.update({f"{pool}.photos": counts["photos"], f"{pool}.faces": counts["faces"],
                        f"{pool}.kept_fraction": counts["kept_fraction"]})
        metrics.update({f"{pool}.status.{status}": n for status, n in counts["status"].items()})
    return {k: {"value": float(v), "step": 0} for k, v in metrics.items()}, summary, histograms, preview
