"""Honest evaluation shared by every stage: MAE per angle, by |yaw| bucket, geodesic error, plots."""

from __future__ import annotations

import numbers
import textwrap
from collections.abc import Callable, Mapping
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from tqdm.auto import tqdm

from headpose.angles import (
    axis_angle_to_matrix,
    equivalent_euler,
    euler_to_matrix,
    geodesic_deg,
    matrix_to_euler,
    wrap_deg,
)
from headpose.data.faceset import FaceSet
from headpose.data.preprocess import to_model_input
from headpose.visualize import label_points

YAW_BUCKETS = ((0, 30), (30, 60), (60, 99))
Predictor = Callable[[np.ndarray], np.ndarray]  # float32 (N,3,S,S) -> (N,3) degrees


def torch_predictor(model: torch.nn.Module, device: str | torch.device = "cpu") -> Predictor:
    model = model.eval().to(device)

    @torch.inference_mode()
    def predict(batch: np.ndarray) -> np.ndarray:
        out = model(torch.from_numpy(batch).to(device))
        angles = out["angles"] if isinstance(out, dict) else out
        return angles.float().cpu().numpy()

    return predict


def predict_faceset(
    predict: Predictor, faceset: FaceSet, input_size: int, batch_size: int = 256, progress: bool = False
) -> np.ndarray:
    """(N, 3) predicted (yaw, pitch, roll) for every crop of a FaceSet."""
    starts = range(0, len(faceset), batch_size)
    chunks = [
        predict(to_model_input(faceset.images[i : i + batch_size], input_size))
        for i in tqdm(starts, desc="evaluate", disable=not progress, leave=False)
    ]
    return np.concatenate(chunks) if chunks else np.zeros((0, 3), np.float32)


def faceset_metrics(predict: Predictor, faceset: FaceSet | None, input_size: int) -> dict[str, float] | None:
    """:func:`pose_metrics` of ``predict`` on ``faceset``; ``None`` for a missing or empty set."""
    if faceset is None or not len(faceset):
        return None
    return pose_metrics(predict_faceset(predict, faceset, input_size), faceset.angles)


def faceset_mae(predict: Predictor, faceset: FaceSet | None, input_size: int) -> float | None:
    """Mean Euler MAE of ``predict`` on ``faceset``; ``None`` for a missing or empty set (e.g. no real
    set configured). The one MAE of the project: every stage that compares models calls this."""
    metrics = faceset_metrics(predict, faceset, input_size)
    return None if metrics is None else metrics["mae"]


def pose_metrics(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """MAE (degrees) of yaw, pitch, roll and their mean; MAE by |yaw| bucket; geodesic error."""
    pred, true = np.asarray(pred, np.float64), np.asarray(true, np.float64)
    err = np.abs(pred - true)
    metrics = {"n": float(len(true))}
    if not len(true):
        return metrics
    metrics.update({"yaw": err[:, 0].mean(), "pitch": err[:, 1].mean(), "roll": err[:, 2].mean()})
    metrics["mae"] = err.mean()
    abs_yaw = np.abs(true[:, 0])
    for lo, hi in YAW_BUCKETS:
        mask = (abs_yaw >= lo) & (abs_yaw < hi) if hi < 99 else (abs_yaw >= lo)
        if mask.any():
            metrics[f"mae_yaw_{lo}_{hi}"] = err[mask].mean()
    geo = geodesic_deg(euler_to_matrix(*pred.T), euler_to_matrix(*true.T))
    metrics["geodesic_mean"] = geo.mean()
    metrics["geodesic_median"] = float(np.median(geo))
    return {k: float(v) for k, v in metrics.items()}


def mae_by_yaw_bucket(
    pred: np.ndarray, true: np.ndarray, buckets: tuple[tuple[float, float], ...] = YAW_BUCKETS
) -> list[dict[str, float | str]]:
    """One row per |true yaw| bucket ``[lo, hi)`` (the last one also takes |yaw| >= its hi, as in
    :func:`pose_metrics`): ``bucket`` ("0-30"), ``n``, and the MAE of yaw, pitch, roll and their mean
    (None for an empty bucket)."""
    pred, true = np.asarray(pred, np.float64).reshape(-1, 3), np.asarray(true, np.float64).reshape(-1, 3)
    err, abs_yaw = np.abs(pred - true), np.abs(true[:, 0])
    rows: list[dict[str, float | str]] = []
    for k, (lo, hi) in enumerate(buckets):
        last = k == len(buckets) - 1
        mask = (abs_yaw >= lo) & ((abs_yaw < hi) | last)
        e = err[mask]
        row: dict[str, float | str] = {"bucket": f"{lo:g}-{hi:g}", "n": int(mask.sum())}
        row.update(
            {
                name: (float(e[:, i].mean()) if len(e) else None)
                for i, name in enumerate(("yaw", "pitch", "roll"))
            }
        )
        row["mae"] = float(e.mean()) if len(e) else None
        rows.append(row)
    return rows


def euler_mae_floor(true: np.ndarray, geodesic_error_deg: float, seed: int = 0) -> float:
    """Mean Euler MAE on the labels ``true`` (N, 3) of a model whose every prediction is off by exactly
    ``geodesic_error_deg`` of rotation, about a random axis (read on the Euler branch nearest the label).

    Near +-90 deg yaw, pitch and roll stop being separable (gimbal lock): there a small rotation error
    is a large Euler error. On a label set rich in profile poses this says what Euler MAE a given
    rotation accuracy can reach at best.
    """
    true = np.asarray(true, np.float64)
    if not len(true):
        return 0.0
    axes = np.random.default_rng(seed).normal(size=true.shape)
    off = axis_angle_to_matrix(axes, np.full(len(true), geodesic_error_deg)) @ euler_to_matrix(*true.T)
    pred = matrix_to_euler(off)
    err, err_other = np.abs(wrap_deg(pred - true)), np.abs(wrap_deg(equivalent_euler(pred) - true))
    return float(np.where((err.sum(-1) <= err_other.sum(-1))[:, None], err, err_other).mean())


def error_vs_angle_figure(pred: np.ndarray, true: np.ndarray, title: str = "") -> Figure:
    """Absolute error of each angle against the true angle (binned mean), one panel per angle."""
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4), sharey=True)
    err = np.abs(np.asarray(pred) - np.asarray(true))
    edges = np.linspace(-99, 99, 34)
    for k, (ax, name) in enumerate(zip(axes, ("yaw", "pitch", "roll"))):
        idx = np.digitize(true[:, k], edges)
        centers, means = [], []
        for b in range(1, len(edges)):
            sel = idx == b
            if sel.sum() >= 3:
                centers.append((edges[b - 1] + edges[b]) / 2)
                means.append(err[sel, k].mean())
        ax.scatter(true[:, k], err[:, k], s=2, alpha=0.25, color="tab:gray")
        ax.plot(centers, means, color="tab:red", lw=2, label="binned mean")
        ax.set_xlabel(f"true {name} (deg)")
        ax.set_title(f"{name}: MAE {err[:, k].mean():.2f}")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("absolute error (deg)")
    axes[0].legend(loc="upper left")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def evaluate_sets(
    predict: Predictor, input_size: int, sets: dict[str, FaceSet]
) -> tuple[dict[str, dict[str, float]], dict[str, np.ndarray]]:
    """Metrics and predictions for every non-empty named set (e.g. synthetic test, AFLW2000)."""
    metrics, predictions = {}, {}
    for name, faceset in sets.items():
        if len(faceset):
            predictions[name] = predict_faceset(predict, faceset, input_size, progress=True)
            metrics[name] = pose_metrics(predictions[name], faceset.angles)
    return metrics, predictions


def as_mlflow_metrics(values: Mapping[str, Any], prefix: str = "") -> dict[str, dict[str, float]]:
    """Nested ``{name: {figure: value}}`` -> kedro-mlflow's ``{"name.figure": {"value": v, "step": 0}}``
    (the catalog adds its own prefix). Only numbers are metrics: text, lists and None are left out."""
    metrics: dict[str, dict[str, float]] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            metrics.update(as_mlflow_metrics(value, f"{name}."))
        elif isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
            metrics[name] = {"value": float(value), "step": 0}
    return metrics


def latency_vs_mae_figure(
    rows: Mapping[str, Mapping[str, Any]],
    latency_key: str,
    mae_key: str,
    title: str,
    highlight: str | None = None,
    marker_key: str | None = None,
    note: str = "",
) -> Figure:
    """Scatter of median latency against MAE, one labelled point per row (down-left is better).

    ``highlight`` names the row drawn larger in red (the one that ships); ``marker_key`` names a
    row field (e.g. the backend) that picks each point's marker and the legend; ``note`` is printed,
    wrapped, below the axes."""
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    groups = sorted({str(r.get(marker_key)) for r in rows.values()}) if marker_key else []
    markers = dict(zip(groups, "os^Dvx<>"))
    for name, row in rows.items():
        special = name == highlight
        ax.scatter(
            row[latency_key],
            row[mae_key],
            s=60 if special else 35,
            zorder=3,
            marker=markers.get(str(row.get(marker_key)), "o"),
            color="tab:red"
            if special
            else f"C{groups.index(str(row.get(marker_key)))}"
            if marker_key
            else "tab:blue",
            label=str(row.get(marker_key)) if marker_key else None,
        )
    if marker_key and rows:
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles))
        ax.legend(unique.values(), unique.keys(), loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    latencies = np.array([row[latency_key] for row in rows.values()], np.float64)
    if len(latencies) and latencies.min() > 0 and latencies.max() / latencies.min() > 20:
        ax.set_xscale("log")
    ax.set_xlabel(f"{latency_key.replace('_', ' ')} (batch 1)")
    ax.set_ylabel(f"{mae_key.replace('_', ' ')} (deg)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    if note:
        fig.text(0.01, 0.01, textwrap.fill(note, 130), fontsize=7, va="bottom", color="0.35")
    fig.tight_layout(rect=(0, 0.08 if note else 0, 1, 1))
    label_points(
        ax,
        [r[latency_key] for r in rows.values()],
        [r[mae_key] for r in rows.values()],
        [name + (" (ships)" if name == highlight else "") for name in rows],
    )
    return fig
