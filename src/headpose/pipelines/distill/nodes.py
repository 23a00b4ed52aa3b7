"""Distill stage nodes: students taught by the (pruned) teacher, one trained without it, compared."""

from __future__ import annotations

import logging
from typing import Any

from matplotlib.figure import Figure

from headpose.compression.distillation import DistillationObjective, DistillConfig, set_bn_momentum
from headpose.compression.gates import check_drop
from headpose.compression.profile import as_metrics, latency_vs_mae_figure, profile_model
from headpose.data.faceset import FaceSet
from headpose.evaluation import pose_metrics, predict_faceset, torch_predictor
from headpose.flops import count_macs, count_params
from headpose.models import create_model
from headpose.training.checkpoint import Checkpoint
from headpose.training.loop import TrainResult, fit

log = logging.getLogger(__name__)


def _teacher(teacher: Checkpoint, pruned: Checkpoint, config: DistillConfig) -> tuple[str, Checkpoint]:
    """(name, checkpoint) of the teacher that ``distill.teacher`` chooses."""
    return config.teacher, pruned if config.teacher == "pruned" else teacher


def _student(result: TrainResult, config_dict: dict[str, Any], extra: dict[str, Any]) -> Checkpoint:
    size = config_dict["input_size"]
    return Checkpoint(
        result.model,
        {
            "input_size": size,
            "train_config": config_dict,
            "best_epoch": result.best_epoch,
            "best_val_mae": result.best_val_mae,
            "train_seconds": result.seconds,
            "params": count_params(result.model),
            "macs": count_macs(result.model, size),
            **extra,
        },
    )


def _history(result: TrainResult) -> dict[str, list[dict[str, float]]]:
    keys = sorted({k for h in result.history for k in h})
    history = {
        k: [{"value": float(h[k]), "step": step} for step, h in enumerate(result.history, 1) if k in h]
        for k in keys
    }
    history.update(
        {
            "train_seconds": [{"value": result.seconds, "step": 0}],
            "best_val_mae": [{"value": result.best_val_mae, "step": 0}],
        }
    )
    return history


def distill_student(
    teacher_model: Checkpoint,
    pruned_model: Checkpoint,
    train: FaceSet,
    val: FaceSet,
    test: FaceSet,
    distill: dict[str, Any],
    key: str,
) -> tuple[Checkpoint, dict]:
    """Train student ``key`` from the configured teacher; GateError if its test MAE falls too far behind."""
    config = DistillConfig.from_dict(distill)
    source, teacher = _teacher(teacher_model, pruned_model, config)
    train_config = config.student_train_config(key, teacher.meta)
    objective = DistillationObjective(
        teacher.model, train_config.loss, config.ratio, config.temperature, config.expectation_weight
    )
    result = fit(
        set_bn_momentum(create_model(**train_config.model), config.bn_momentum),
        train,
        val,
        train_config,
        objective=objective,
    )
    predict = predict_faceset(torch_predictor(result.model), test, train_config.input_size)
    student_mae = pose_metrics(predict, test.angles)["mae"]
    teacher_mae = pose_metrics(
        predict_faceset(torch_predictor(teacher.model), test, teacher.input_size), test.angles
    )["mae"]
    gate = check_drop(f"distill.{key}", teacher_mae, student_mae, config.max_drop_deg)
    log.info(
        "student %s distilled from %s: test MAE %.3f (teacher %.3f)", key, source, student_mae, teacher_mae
    )
    checkpoint = _student(
        result,
        train_config.to_dict(),
        {
            "parent": source,
            "distill": {
                k: distill[k] for k in ("ratio", "temperature", "expectation_weight") if k in distill
            },
            "test_mae": student_mae,
            "gate": gate,
        },
    )
    return checkpoint, _history(result)


def train_scratch_student(
    train: FaceSet, val: FaceSet, teacher_model: Checkpoint, distill: dict[str, Any]
) -> tuple[Checkpoint, dict]:
    """The ``scratch_baseline`` student trained on the same data, recipe and budget, without a teacher."""
    config = DistillConfig.from_dict(distill)
    train_config = config.student_train_config(config.scratch_baseline, teacher_model.meta)
    result = fit(
        set_bn_momentum(create_model(**train_config.model), config.bn_momentum), train, val, train_config
    )
    return _student(result, train_config.to_dict(), {"parent": None}), _history(result)


def compare_students(
    teacher_model: Checkpoint,
    pruned_model: Checkpoint,
    test: FaceSet,
    distill: dict[str, Any],
    scratch: Checkpoint,
    **students: Checkpoint,
) -> tuple[dict, dict, Figure]:
    """Teacher, pruned teacher, every student and the scratch baseline on the same test set:
    params, MACs, PyTorch latency, MAE."""
    config = DistillConfig.from_dict(distill)
    source, _ = _teacher(teacher_model, pruned_model, config)
    baseline = config.scratch_baseline
    models = {"teacher": teacher_model, "pruned": pruned_model, **students, f"{baseline}_scratch": scratch}
    rows = {name: profile_model(c.model, c.input_size, test, config.latency) for name, c in models.items()}
    report = {
        "teacher_source": source,
        "models": rows,
        "specs": {name: dict(c.model.spec) for name, c in models.items()},
        "distill": {k: distill.get(k) for k in ("ratio", "temperature", "expectation_weight", "train")},
    }
    distilled_mae, scratch_mae = rows[baseline]["mae"], rows[f"{baseline}_scratch"]["mae"]
    report["distilled_vs_scratch"] = {
        "student": baseline,
        "distilled_mae": distilled_mae,
        "scratch_mae": scratch_mae,
        "gain_deg": scratch_mae - distilled_mae,
    }
    log.info(
        "distillation gain for %s: %.3f deg (distilled %.3f, scratch %.3f)",
        baseline,
        scratch_mae - distilled_mae,
        distilled_mae,
        scratch_mae,
    )
    figure = latency_vs_mae_figure(
        rows, "torch_latency_median_ms", f"students taught by the {source} teacher (PyTorch CPU)"
    )
    metrics = as_metrics(rows)
    metrics["distill_gain_deg"] = {"value": scratch_mae - distilled_mae, "step": 0}
    return metrics, report, figure
