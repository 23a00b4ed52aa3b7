"""Distill stage nodes: students taught by the (pruned) teacher, compared with it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict

from matplotlib.figure import Figure

from headpose.compression.distillation import DistillConfig, distill_student
from headpose.compression.profile import profile_model
from headpose.data.faceset import FaceSet
from headpose.evaluation import as_mlflow_metrics, latency_vs_mae_figure
from headpose.training.checkpoint import Checkpoint

REPORTED = ("ratio", "temperature", "expectation_weight", "train")


def student_node(key: str) -> Callable[..., tuple[Checkpoint, dict]]:
    """The node function that distils student ``key`` (Kedro passes datasets, not constants)."""

    def node(
        teacher_model: Checkpoint,
        pruned_model: Checkpoint,
        train: FaceSet,
        val: FaceSet,
        test: FaceSet,
        real_test: FaceSet,
        distill: DistillConfig,
    ) -> tuple[Checkpoint, dict]:
        """Train the student from the configured teacher; GateError if its test MAE (or real MAE, when a
        real set is configured) falls too far behind."""
        teacher = distill.teacher_checkpoint(teacher_model, pruned_model)
        return distill_student(teacher, train, val, test, real_test, distill, key)

    node.__name__ = node.__qualname__ = f"distill_{key}"
    return node


def compare_students(
    teacher_model: Checkpoint,
    pruned_model: Checkpoint,
    test: FaceSet,
    real_test: FaceSet,
    distill: DistillConfig,
    **students: Checkpoint,
) -> tuple[dict, dict, Figure]:
    """Teacher, pruned teacher and every student on the same test sets: params, MACs, PyTorch latency, MAE."""
    models = {"teacher": teacher_model, "pruned": pruned_model, **students}
    rows = {
        name: profile_model(c.model, c.input_size, test, distill.latency, real_test)
        for name, c in models.items()
    }
    report = {
        "teacher_source": distill.teacher,
        "models": rows,
        "specs": {name: dict(c.model.spec) for name, c in models.items()},
        "distill": {k: v for k, v in asdict(distill).items() if k in REPORTED},
    }
    figure = latency_vs_mae_figure(
        rows,
        "torch_latency_median_ms",
        "mae",
        f"students taught by the {distill.teacher} teacher (PyTorch CPU)",
    )
    return as_mlflow_metrics(rows), report, figure
