"""Distill-baseline nodes: the student trained without a teacher on the same data, recipe and budget,
so the distillation gain is measured, not assumed."""

from __future__ import annotations

import logging

from headpose.compression.distillation import DistillConfig, set_bn_momentum
from headpose.compression.profile import profile_model
from headpose.data.faceset import FaceSet
from headpose.evaluation import as_mlflow_metrics
from headpose.training.checkpoint import Checkpoint, initial_model
from headpose.training.loop import fit

log = logging.getLogger(__name__)


def train_scratch_student(
    train: FaceSet, val: FaceSet, teacher_model: Checkpoint, distill: DistillConfig
) -> tuple[Checkpoint, dict]:
    """Student ``distill.scratch_baseline`` trained exactly as in distillation (same start, same recipe),
    minus the teacher."""
    train_config = distill.student_train_config(distill.scratch_baseline, teacher_model.meta)
    model = set_bn_momentum(initial_model(train_config.model, train_config.init_from), distill.bn_momentum)
    result = fit(model, train, val, train_config)
    return result.checkpoint(train_config, parent=None), result.metrics_history()


def compare_with_scratch(
    scratch: Checkpoint, test: FaceSet, distill: DistillConfig, **students: Checkpoint
) -> tuple[dict, dict]:
    """Test MAE, params, MACs and latency of the distilled student and its scratch twin."""
    key = distill.scratch_baseline
    rows = {
        name: profile_model(c.model, c.input_size, test, distill.latency)
        for name, c in {key: students[key], f"{key}_scratch": scratch}.items()
    }
    distilled_mae, scratch_mae = rows[key]["mae"], rows[f"{key}_scratch"]["mae"]
    gain = scratch_mae - distilled_mae
    log.info(
        "distillation gain for %s: %.3f deg (distilled %.3f, scratch %.3f)",
        key,
        gain,
        distilled_mae,
        scratch_mae,
    )
    report = {
        "student": key,
        "distilled_mae": distilled_mae,
        "scratch_mae": scratch_mae,
        "gain_deg": gain,
        "models": rows,
        "train": distill.train,
    }
    return as_mlflow_metrics({**rows, "gain_deg": gain}), report
