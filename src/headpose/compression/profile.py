"""One row per model: size, compute, measured latency and accuracy, the figures every step reports."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure
from torch import nn

from headpose.compression.latency import torch_latency
from headpose.data.faceset import FaceSet
from headpose.evaluation import faceset_mae, pose_metrics, predict_faceset, torch_predictor
from headpose.flops import count_macs, count_params


def profile_model(
    model: nn.Module, input_size: int, test: FaceSet, latency: dict[str, int], real_test: FaceSet | None = None
) -> dict[str, float]:
    """Params, MACs, PyTorch CPU latency (batch 1, ``latency`` = runs/warmup/threads), test MAE and,
    when a real labelled set is given and not empty, its MAE as ``mae_real`` (else ``None``)."""
    timing = torch_latency(model, input_size, **latency)
    predict = torch_predictor(model)
    metrics = pose_metrics(predict_faceset(predict, test, input_size), test.angles)
    return {
        "params": float(count_params(model)),
        "macs": float(count_macs(model, input_size)),
        "torch_latency_median_ms": timing["p50_ms"],
        "torch_latency_p99_ms": timing["p99_ms"],
        **{k: metrics[k] for k in ("mae", "yaw", "pitch", "roll")},
        "mae_real": faceset_mae(predict, real_test, input_size),
    }


def as_metrics(rows: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """{model: {figure: value}} -> kedro-mlflow's {"model.figure": {"value", "step": 0}}, numbers only."""
    return {
        f"{name}.{k}": {"value": float(v), "step": 0}
        for name, row in rows.items()
        for k, v in row.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    }


def latency_vs_mae_figure(
    rows: dict[str, dict[str, Any]], latency_key: str, title: str, highlight: str | None = None
) -> Figure:
    """Scatter of median latency against test MAE, one labelled point per model (down-left is better)."""
    fig = Figure(figsize=(6.4, 4.4))
    ax = fig.subplots()
    for name, row in rows.items():
        ax.scatter(
            row[latency_key],
            row["mae"],
            s=60 if name == highlight else 30,
            color="tab:red" if name == highlight else "tab:blue",
            zorder=3,
        )
        ax.annotate(
            name + (" (ships)" if name == highlight else ""),
            (row[latency_key], row["mae"]),
            textcoords="offset points",
            xytext=(5, 4),
            fontsize=8,
        )
    latencies = np.array([row[latency_key] for row in rows.values()])
    if len(latencies) and latencies.max() / max(latencies.min(), 1e-9) > 20:
        ax.set_xscale("log")
    ax.set_xlabel(f"{latency_key.replace('_', ' ')} (batch 1, 1 thread)")
    ax.set_ylabel("test MAE (deg)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
