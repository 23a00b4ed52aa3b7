"""The pseudo-labelling report: counts by pool and status, pose and confidence histograms, a preview."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from headpose.angles import ANGLE_LIMIT_DEG, NUM_BINS
from headpose.data.faceset import ANGLE_COLUMNS, FaceSet
from headpose.data.pseudolabel.config import KEPT
from headpose.visualize import preview_grid

PREVIEW_FACES = 32


def pseudolabel_report(report: pd.DataFrame, faceset: FaceSet) -> tuple[dict[str, Any], Figure, Figure]:
    """Counts by pool and status, a pose / confidence histogram figure and a preview grid of kept faces.

    Summary: photos, kept_photos, faces; per pool the same plus kept_fraction, each status's count and
    the kept faces' |yaw| bands; the teacher name and version.
    """
    labels = faceset.labels
    summary: dict[str, Any] = {
        "photos": int(len(report)),
        "kept_photos": int((report.status == KEPT).sum()),
        "faces": int(len(faceset)),
        "status": {k: int(v) for k, v in report.status.value_counts().items()},
        "teacher": sorted(
            {
                f"{name} {version}"
                for name, version in zip(
                    labels.get("teacher", []), labels.get("teacher_version", []), strict=True
                )
            }
        ),
        "pools": {},
    }
    for pool, rows in report.groupby("pool", sort=False):
        kept = labels[labels["pool"] == pool] if len(labels) else labels
        abs_yaw = np.abs(kept["yaw"].to_numpy(np.float64)) if len(kept) else np.zeros(0)
        summary["pools"][str(pool)] = {
            "photos": int(len(rows)),
            "kept_photos": int((rows.status == KEPT).sum()),
            "kept_fraction": round(float((rows.status == KEPT).mean()), 4),
            "faces": int(len(kept)),
            "status": {k: int(v) for k, v in rows.status.value_counts().items()},
            "abs_yaw": {
                "0-30": int((abs_yaw < 30).sum()),
                "30-60": int(((abs_yaw >= 30) & (abs_yaw < 60)).sum()),
                "60+": int((abs_yaw >= 60).sum()),
            },
        }
    return summary, pose_histograms(report, faceset), preview_figure(faceset)


def pose_histograms(report: pd.DataFrame, faceset: FaceSet) -> Figure:
    """Top: yaw, pitch, roll of the kept faces, one series per pool (Hopenet's 3-degree bins).
    Bottom: presence, residual and face size of every photo's best face, kept vs dropped."""
    fig = Figure(figsize=(13, 7), layout="constrained")
    axes = fig.subplots(2, 3)
    edges = np.linspace(-ANGLE_LIMIT_DEG, ANGLE_LIMIT_DEG, NUM_BINS + 1)
    labels = faceset.labels
    for ax, name in zip(axes[0], ANGLE_COLUMNS, strict=True):
        for pool, rows in labels.groupby("pool", sort=False) if len(labels) else []:
            ax.hist(rows[name].to_numpy(np.float64), bins=edges, alpha=0.5, label=f"{pool} (n={len(rows)})")
        ax.set(title=f"{name} (kept)", xlabel="degrees", xlim=(edges[0], edges[-1]), yscale="log")
        ax.set_ylim(bottom=0.8)  # log scale: single faces stay visible, full bars stay whole
    axes[0, 0].set_ylabel("faces")
    if len(labels):
        axes[0, 0].legend(fontsize="small")
    found = report[np.isfinite(report["presence"].to_numpy(np.float64))]
    kept = found.status == KEPT
    bottom = (("presence", ""), ("residual", " (cm)"), ("face_px", " (px)"))
    for ax, (name, unit) in zip(axes[1], bottom, strict=True):
        values = found[name].to_numpy(np.float64)
        bins = np.linspace(0, 1, 41) if name == "presence" else 40
        if len(values):
            ax.hist(
                [values[kept.to_numpy()], values[~kept.to_numpy()]],
                bins=bins,
                stacked=True,
                label=[f"kept (n={int(kept.sum())})", f"dropped (n={int((~kept).sum())})"],
            )
        ax.set(title=f"{name} of the best face", xlabel=f"{name}{unit}", yscale="log")
        ax.set_ylim(bottom=0.8)
    axes[1, 0].set_ylabel("photos")
    if len(found):
        axes[1, 0].legend(fontsize="small")
    return fig


def preview_figure(faceset: FaceSet, n: int = PREVIEW_FACES) -> Figure:
    """Kept crops spread over the yaw range, with their head axes and 68 landmarks drawn."""
    if not len(faceset):
        fig = Figure(figsize=(4, 1))
        fig.text(0.5, 0.5, "no face kept", ha="center", va="center")
        return fig
    picks = _spread_over_yaw(faceset.labels["yaw"].to_numpy(np.float64), n)
    images = []
    for i in picks:
        image = np.array(faceset.images[i])
        for x, y in np.round(faceset.arrays["landmarks"][i]).astype(int):
            cv2.circle(image, (int(x), int(y)), 1, (255, 255, 0), -1)
        images.append(image)
    rows = faceset.labels.iloc[picks]
    titles = [f"{pool} r{res:.2f}" for pool, res in zip(rows["pool"], rows["residual"], strict=True)]
    grid = preview_grid(images, faceset.angles[picks], titles, cols=8)
    fig = Figure(figsize=(grid.shape[1] / 100, grid.shape[0] / 100), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(grid)
    ax.set_axis_off()
    return fig


def _spread_over_yaw(yaw: np.ndarray, n: int) -> np.ndarray:
    """Up to ``n`` indices sorted by yaw: the faces nearest to evenly spaced yaw values (so the rare
    profiles show), topped up with faces evenly spaced in rank."""
    order = np.argsort(yaw, kind="stable")
    n = min(n, len(order))
    targets = np.linspace(yaw[order[0]], yaw[order[-1]], n)
    nearest = np.clip(np.searchsorted(yaw[order], targets), 0, len(order) - 1)
    chosen = set(order[nearest].tolist())
    for i in order[np.arange(n) * len(order) // n]:
        if len(chosen) >= n:
            break
        chosen.add(int(i))
    return np.array(sorted(chosen, key=lambda i: (yaw[i], i)))
