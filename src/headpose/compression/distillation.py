"""Knowledge distillation of a (pruned) teacher into a small student.

The student learns from the teacher's temperature-softened bin distributions (Hinton et al. 2015)
next to the ground-truth labels:

    loss = ratio * KL_T(teacher || student) + (1 - ratio) * Objective(labels)
           + expectation_weight * Wing(student angles, teacher angles)

The teacher runs in eval mode without gradients inside the objective, on the same augmented batch
the student sees, so :func:`headpose.training.loop.fit` trains students unchanged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from headpose import losses
from headpose.compression.gates import check_drops
from headpose.compression.latency import LatencyConfig
from headpose.compression.recipe import inherit_recipe
from headpose.config import Config, knob
from headpose.data.faceset import FaceSet
from headpose.errors import ConfigError
from headpose.evaluation import faceset_mae, torch_predictor
from headpose.training.checkpoint import Checkpoint, initial_model
from headpose.training.config import LossConfig, TrainConfig
from headpose.training.loop import fit
from headpose.training.objective import Objective

log = logging.getLogger(__name__)
TEACHER_SOURCES = ("pruned", "teacher")


@dataclass(frozen=True)
class DistillConfig(Config, section="distill"):
    teacher: str = knob("pruned", choices=TEACHER_SOURCES)  # which checkpoint teaches
    ratio: float = knob(0.7, lo=0.0, hi=1.0)  # weight of the KL term; 1 - ratio weights the hard-label loss
    temperature: float = knob(4.0, lo=0.0)
    expectation_weight: float = knob(0.0, lo=0.0)  # optional: match the teacher's expected angles (Wing loss)
    max_drop_deg: float = knob(3.0, lo=0.0)  # gate: student MAE may exceed its teacher's by at most this
    input_size: int | None = knob(None, lo=1)  # null: the teacher's input size
    train: dict[str, Any] = knob({})  # TrainConfig overrides, shared by every student
    students: dict[str, dict[str, Any]] = knob({})  # key -> model spec
    # BatchNorm momentum of the students while training (None: the architecture's own). torchvision's
    # MobileNetV3 uses 0.01: after a short budget its running statistics still lag the weights and the
    # eval-mode MAE stays near chance.
    bn_momentum: float | None = knob(0.1, lo=0.0, hi=1.0)
    scratch_baseline: str = "student"  # key of the student also trained without a teacher
    latency: LatencyConfig = field(default_factory=LatencyConfig)
    init_from: dict[str, str | None] = knob({})  # student key -> checkpoint to start from
    student_train: dict[str, dict[str, Any] | None] = knob({})  # student key -> `train` overrides
    student_ratio: dict[str, float] = knob({}, lo=0.0, hi=1.0)  # student key -> its own `ratio`
    # student key -> "init": its soft targets come from its own starting weights (learning without
    # forgetting), not from the teacher; the training recipe is still the teacher's
    student_targets: dict[str, str] = knob({}, choices=("teacher", "init"))

    def check(self) -> None:
        if not self.temperature > 0:
            raise self.problem("temperature", f"must be > 0, got {self.temperature}")
        if self.scratch_baseline not in self.students:
            known = sorted(self.students)
            raise self.problem(
                "scratch_baseline", f"{self.scratch_baseline!r} is not a key of distill.students ({known})"
            )
        # the training overrides are checked here, under their own keys, not when a student starts, each
        # with the start it will have (the shared block: a start only if every student has one)
        every_start = all(self.init_from.get(k) for k in self.students)
        overrides = {
            "train": (self.train, next(iter(self.init_from.values()), None) if every_start else None)
        }
        for key, values in self.student_train.items():
            overrides[f"student_train.{key}"] = (values or {}, self.init_from.get(key))
        for where, (values, init_from) in overrides.items():
            TrainConfig.from_dict({"init_from": init_from, **values}, section=f"{self._section}.{where}")

    def ratio_for(self, key: str) -> float:
        """The KL weight of student ``key``: its own, else ``ratio``."""
        return self.student_ratio.get(key, self.ratio)

    def teacher_checkpoint(self, teacher: Checkpoint, pruned: Checkpoint) -> Checkpoint:
        """The checkpoint that ``teacher`` names."""
        return pruned if self.teacher == "pruned" else teacher

    def student_train_config(self, key: str, teacher_meta: dict[str, Any]) -> TrainConfig:
        """The teacher's training recipe (augmentation, loss, seed) with the student's model and budget."""
        if key not in self.students:
            raise self.problem("students", f"has no {key!r}; known students: {sorted(self.students)}")
        input_size = self.input_size or int(teacher_meta["input_size"])
        # init_from: the student's own start, never the teacher's
        overrides = (self.train, self.student_train.get(key))
        return inherit_recipe(
            teacher_meta,
            *overrides,
            model=dict(self.students[key]),
            input_size=input_size,
            init_from=self.init_from.get(key),
        )


class DistillationObjective:
    """``fit`` objective: KD on bin logits (+ optional expectation matching) + the hard-label Objective."""

    def __init__(
        self,
        teacher: nn.Module,
        loss: LossConfig,
        ratio: float,
        temperature: float,
        expectation_weight: float = 0.0,
    ) -> None:
        self.teacher = teacher.eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        self.hard = Objective(loss)
        self.loss_config = loss
        self.ratio, self.temperature, self.expectation_weight = ratio, temperature, expectation_weight

    def __call__(
        self, outputs: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        image = batch["image"]
        target = self._teach(image) if self.ratio > 0 or self.expectation_weight > 0 else {}
        parts: dict[str, torch.Tensor] = {}
        total = torch.zeros((), device=image.device)
        if self.ratio > 0:
            if "logits" not in outputs or "logits" not in target:
                raise ConfigError(
                    "distillation on bin logits needs a binned teacher and student (e.g. hopenet); "
                    "for other models set distill.ratio: 0 and distill.expectation_weight > 0"
                )
            parts["kd"] = losses.distillation_kl(
                outputs["logits"], target["logits"].float(), self.temperature
            )
            total = total + self.ratio * parts["kd"]
        if self.ratio < 1:
            hard, hard_parts = self.hard(outputs, batch)
            parts.update({f"hard_{k}": v for k, v in hard_parts.items() if k != "loss"})
            parts["hard"] = hard
            total = total + (1 - self.ratio) * hard
        if self.expectation_weight > 0:
            c = self.loss_config
            parts["expectation"] = losses.wing_loss(
                outputs["angles"], target["angles"].float(), c.wing_w, c.wing_epsilon
            )
            total = total + self.expectation_weight * parts["expectation"]
        return total, {"loss": total.detach(), **{k: v.detach() for k, v in parts.items()}}

    def _teach(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        self.teacher.to(image.device)
        with torch.no_grad():
            return self.teacher(image)


def set_bn_momentum(model: nn.Module, momentum: float | None) -> nn.Module:
    """Set every BatchNorm's running-statistics momentum (no-op for None); returns the model."""
    if momentum is not None:
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.momentum = momentum
    return model


def distill_student(
    teacher: Checkpoint,
    train: FaceSet,
    val: FaceSet,
    test: FaceSet,
    real_test: FaceSet | None,
    config: DistillConfig,
    key: str,
) -> tuple[Checkpoint, dict[str, list[dict[str, float]]]]:
    """Student ``key`` trained from ``teacher`` (the one ``config.teacher`` names) and its training
    history; GateError if its test MAE (or real MAE, when a real set is given) falls too far behind."""
    train_config = config.student_train_config(key, teacher.meta)
    ratio = config.ratio_for(key)
    targets = config.student_targets.get(key, "teacher")
    if targets == "init" and train_config.init_from is None:
        raise config.problem(
            "student_targets", f"{key!r} learns from its starting weights, but has no init_from"
        )
    source = initial_model(train_config.model, train_config.init_from) if targets == "init" else teacher.model
    objective = DistillationObjective(
        source, train_config.loss, ratio, config.temperature, config.expectation_weight
    )
    student = set_bn_momentum(initial_model(train_config.model, train_config.init_from), config.bn_momentum)
    result = fit(student, train, val, train_config, objective=objective)
    rows = {}
    for name, model, size in (
        ("student", result.model, train_config.input_size),
        ("teacher", teacher.model, teacher.input_size),
    ):
        predict = torch_predictor(model)
        rows[name] = {
            "mae": faceset_mae(predict, test, size),
            "mae_real": faceset_mae(predict, real_test, size),
        }
    gates = check_drops(f"distill.{key}", rows["teacher"], rows["student"], config.max_drop_deg)
    log.info(
        "student %s distilled from %s: test MAE %.3f (teacher %.3f), real MAE %s (teacher %s)",
        key,
        config.teacher,
        rows["student"]["mae"],
        rows["teacher"]["mae"],
        rows["student"]["mae_real"],
        rows["teacher"]["mae_real"],
    )
    checkpoint = result.checkpoint(
        train_config,
        parent=config.teacher,
        training_data=train.describe_sources(),
        distill={
            "ratio": ratio,
            "temperature": config.temperature,
            "expectation_weight": config.expectation_weight,
        },
        test_mae=rows["student"]["mae"],
        real_mae=rows["student"]["mae_real"],
        gates=gates,
    )
    return checkpoint, result.metrics_history()
