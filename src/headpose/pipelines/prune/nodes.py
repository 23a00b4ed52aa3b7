"""Prune stage nodes: structured channel pruning of the teacher, fine-tuned, gated on accuracy."""

from __future__ import annotations

from matplotlib.figure import Figure

from headpose.compression.profile import channels_figure
from headpose.compression.pruning import PruneConfig, prune_checkpoint
from headpose.data.faceset import FaceSet
from headpose.evaluation import as_mlflow_metrics
from headpose.training.checkpoint import Checkpoint

STEP_METRICS = ("params", "macs", "val_mae")


def prune_teacher(
    teacher: Checkpoint, train: FaceSet, val: FaceSet, test: FaceSet, real_test: FaceSet, prune: PruneConfig
) -> tuple[Checkpoint, dict, dict, Figure]:
    """Prune -> fine-tune the teacher; fails (GateError) if test MAE (or real MAE, when a real set is
    configured) drops more than ``max_drop_deg``."""
    pruned, report = prune_checkpoint(teacher, train, val, test, real_test, prune)
    summary = {k: report[k] for k in ("macs_ratio", "params_ratio", "torch_speedup", "mae_drop_deg")}
    metrics = as_mlflow_metrics(
        {"teacher": report["teacher"], "pruned": report["pruned"], "summary": summary}
    )
    metrics.update(
        {
            f"step.{k}": [{"value": s[k], "step": int(s["step"])} for s in report["steps"]]
            for k in STEP_METRICS
        }
    )
    return pruned, metrics, report, channels_figure(teacher.model, pruned.model)
