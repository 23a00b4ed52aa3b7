"""Distill stage nodes: students taught by the (pruned) teacher, compared with it."""

from __future__ import annotations

import logging
from typing import Any

from matplotlib.figure import Figure

from headpose.compression.distillation import DistillationObjective, DistillConfig, set_bn_momentum
from headpose.compression.gates import check_drops
from headpose.compression.profile import as_metrics, latency_vs_mae_figure, profile_model
from headpose.data.faceset import FaceSet
from headpose.evaluation import faceset_mae, torch_predictor
from headpose.training.checkpoint import Checkpoint, initial_model
from headpose.training.loop import fit

log = logging.getLogger(__name__)


def _teacher(teacher: Checkpoint, pruned: Checkpoint, config: DistillConfig) -> tuple[str, Checkpoint]:
    """(name, checkpoint) of the teacher that ``distill.teacher`` chooses."""
    return config.teacher, pruned if config.teacher == "pruned" else teacher


def distill_student(
    teacher_model: Checkpoint,
    pruned_model: Checkpoint,
    train: FaceSet,
    val: FaceSet,
    test: FaceSet,
    real_test: FaceSet,
    distill: dict[str, Any],
    key: str,
) -> tuple[Checkpoint, dict]:
    """Train student ``key`` from the configured teacher; GateError if its test MAE (or real MAE, when
    a real set is configured) falls too far behind."""
    config = DistillConfig.from_dict(distill)
    source, teacher = _teacher(teacher_model, pruned_model, config)
    train_config = config.student_train_config(key, teacher.meta)
    objective = DistillationObjective(
        teacher.model, train_config.loss, config.ratio, config.temperature, config.expectation_weight
    )
    result = fit(
        set_bn_momentum(initial_model(train_config.model, train_config.init_from), config.bn_momentum),
        train,
        val,
        train_config,
        objective=objective,
    )
    rows = {}
    for name, model, size in (("student", result.model, train_config.input_size),
                              ("teacher", teacher.model, teacher.input_size)):
        predict = torch_predictor(model)
        rows[name] = {"mae": faceset_mae(predict, test, size),
                      "mae_real": faceset_mae(predict, real_test, size)}
    gates = check_drops(f"distill.{key}", rows["teacher"], rows["student"], config.max_drop_deg)
    log.info("student %s distilled from %s: test MAE %.3f (teacher %.3f), real MAE %s (teacher %s)", key, source,
             rows["student"]["mae"], rows["teacher"]["mae"], rows["student"]["mae_real"], rows["teacher"]["mae_real"])
    checkpoint = result.checkpoint(
        train_config,
        parent=source,
        training_data=train.describe_sources(),
        distill={k: distill[k] for k in ("ratio", "temperature", "expectation_weight") if k in distill},
        test_mae=rows["student"]["mae"],
        real_mae=rows["student"]["mae_real"],
        gates=gates,
    )
    return checkpoint, result.metrics_history()


def compare_students(
    teacher_model: Checkpoint,
    pruned_model: Checkpoint,
    test: FaceSet,
    real_test: FaceSet,
    distill: dict[str, Any],
    **students: Checkpoint,
) -> tuple[dict, dict, Figure]:
    """Teacher, pruned teacher and every student on the same test sets: params, MACs, PyTorch latency, MAE."""
    config = DistillConfig.from_dict(distill)
    source, _ = _teacher(teacher_model, pruned_model, config)
    models = {"teacher": teacher_model, "pruned": pruned_model, **students}
    rows = {name: profile_model(c.model, c.input_size, test, config.latency, real_test) for name, c in models.items()}
    report = {
        "teacher_source": source,
        "models": rows,
        "specs": {name: dict(c.model.spec) for name, c in models.items()},
        "distill": {k: distill.get(k) for k in ("ratio", "temperature", "expectation_weight", "train")},
    }
    figure = latency_vs_mae_figure(
        rows, "torch_latency_median_ms", f"students taught by the {source} teacher (PyTorch CPU)"
    )
    return as_metrics(rows), report, figure
