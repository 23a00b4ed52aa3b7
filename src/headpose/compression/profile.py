"""One row per model: size, compute, measured latency and accuracy, the figures every step reports."""

from __future__ import annotations

from matplotlib.figure import Figure
from torch import nn

from headpose.compression.latency import LatencyConfig, torch_latency
from headpose.data.faceset import FaceSet
from headpose.evaluation import faceset_mae, faceset_metrics, torch_predictor
from headpose.flops import count_macs, count_params


def profile_model(
    model: nn.Module, input_size: int, test: FaceSet, latency: LatencyConfig, real_test: FaceSet | None = None
) -> dict[str, float]:
    """Params, MACs, PyTorch CPU latency (batch 1), test MAE and, when a real labelled set is given
    and not empty, its MAE as ``mae_real`` (else ``None``)."""
    timing = torch_latency(model, input_size, latency)
    predict = torch_predictor(model)
    metrics = faceset_metrics(predict, test, input_size)
    return {
        "params": float(count_params(model)),
        "macs": float(count_macs(model, input_size)),
        "torch_latency_median_ms": timing["p50_ms"],
        "torch_latency_p99_ms": timing["p99_ms"],
        **{k: metrics[k] for k in ("mae", "yaw", "pitch", "roll")},
        "mae_real": faceset_mae(predict, real_test, input_size),
    }


def channels_figure(parent: nn.Module, pruned: nn.Module) -> Figure:
    """Output channels of every conv layer before and after pruning: the structure really shrank."""

    def widths(model: nn.Module) -> dict[str, int]:
        return {name: m.out_channels for name, m in model.named_modules() if isinstance(m, nn.Conv2d)}

    before, after = widths(parent), widths(pruned)
    names = list(before)
    fig = Figure(figsize=(max(6.0, 0.12 * len(names)), 3.6))
    ax = fig.subplots()
    ax.bar(range(len(names)), [before[n] for n in names], color="tab:gray", label="teacher")
    ax.bar(range(len(names)), [after.get(n, 0) for n in names], color="tab:blue", label="pruned")
    ax.set_xlabel("conv layer (forward order)")
    ax.set_ylabel("output channels")
    ax.set_title(f"structured pruning: {sum(after.values())} of {sum(before.values())} conv channels kept")
    ax.legend()
    fig.tight_layout()
    return fig
