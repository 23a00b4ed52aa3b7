"""Prune stage nodes: structured channel pruning of the teacher, fine-tuned, gated on accuracy."""

from __future__ import annotations

import copy
import logging
from typing import Any

from matplotlib.figure import Figure
from torch import nn

from headpose.compression.gates import check_drops
from headpose.compression.profile import as_metrics, profile_model
from headpose.compression.pruning import PruneConfig, prune_and_finetune
from headpose.data.faceset import FaceSet
from headpose.training.checkpoint import Checkpoint
from headpose.training.config import TrainConfig

log = logging.getLogger(__name__)


def prune_teacher(
    teacher: Checkpoint, train: FaceSet, val: FaceSet, test: FaceSet, real_test: FaceSet, prune: dict[str, Any]
) -> tuple[Checkpoint, dict, dict, Figure]:
    """Prune -> fine-tune the teacher; fails (GateError) if test MAE (or real MAE, when a real set is
    configured) drops more than ``max_drop_deg``."""
    config = PruneConfig.from_dict(prune)
    size = teacher.input_size
    finetune = TrainConfig.from_dict(
        {
            **teacher.meta.get("train_config", {}),
            **config.finetune,
            "model": dict(teacher.model.spec),
            "input_size": size,
        }
    )
    before = profile_model(teacher.model, size, test, config.latency, real_test)
    model = copy.deepcopy(teacher.model)
    result = prune_and_finetune(model, train, val, size, config, finetune)
    after = profile_model(result.model, size, test, config.latency, real_test)
    gates = check_drops("prune", before, after, config.max_drop_deg)
    speedup = before["torch_latency_median_ms"] / after["torch_latency_median_ms"]
    log.info(
        "pruned: MACs %.0f -> %.0f, torch latency %.3f -> %.3f ms (%.2fx), test MAE %.3f -> %.3f",
        before["macs"],
        after["macs"],
        before["torch_latency_median_ms"],
        after["torch_latency_median_ms"],
        speedup,
        before["mae"],
        after["mae"],
    )
    summary = {
        "macs_ratio": after["macs"] / before["macs"],
        "params_ratio": after["params"] / before["params"],
        "torch_speedup": speedup,
        "mae_drop_deg": gates[0]["drop_deg"],
    }
    checkpoint = Checkpoint(
        result.model,
        {
            "input_size": size,
            "train_config": finetune.to_dict(),
            "parent": "teacher",
            "prune": prune,
            "params": after["params"],
            "macs": after["macs"],
            "test_mae": after["mae"],
            "real_mae": after["mae_real"],
        },
    )
    report = {
        "teacher": before,
        "pruned": after,
        **summary,
        "gates": gates,
        "steps": result.steps,
        "config": prune,
    }
    metrics = as_metrics({"teacher": before, "pruned": after, "summary": summary})
    metrics.update(
        {
            f"step.{k}": [{"value": s[k], "step": int(s["step"])} for s in result.steps]
            for k in ("params", "macs", "val_mae")
        }
    )
    return checkpoint, metrics, report, channels_figure(teacher.model, result.model)


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
