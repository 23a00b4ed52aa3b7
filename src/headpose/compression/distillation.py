"""Knowledge distillation of a (pruned) teacher into a small student.

The student learns from the teacher's temperature-softened bin distributions (Hinton et al. 2015)
next to the ground-truth labels:

    loss = ratio * KL_T(teacher || student) + (1 - ratio) * Objective(labels)
           + expectation_weight * Wing(student angles, teacher angles)

The teacher runs in eval mode without gradients inside the objective, on the same augmented batch
the student sees, so :func:`headpose.training.loop.fit` trains students unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from headpose import losses
from headpose.errors import ConfigError, reject_unknown_keys
from headpose.training.config import LossConfig, TrainConfig
from headpose.training.objective import Objective

TEACHER_SOURCES = ("pruned", "teacher")


@dataclass
class DistillConfig:
    teacher: str = "pruned"  # pruned | teacher: which checkpoint teaches
    ratio: float = 0.7  # weight of the KL term; 1 - ratio weights the hard-label loss
    temperature: float = 4.0
    expectation_weight: float = 0.0  # optional: match the teacher's expected angles (Wing loss)
    max_drop_deg: float = 3.0  # gate: student MAE may exceed its teacher's by at most this
    input_size: int | None = None  # null: the teacher's input size
    train: dict[str, Any] = field(default_factory=dict)  # TrainConfig overrides, shared by every student
    students: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> model spec
    # BatchNorm momentum of the students while training (None: the architecture's own). torchvision's
    # MobileNetV3 uses 0.01: after a short budget its running statistics still lag the weights and the
    # eval-mode MAE stays near chance.
    bn_momentum: float | None = 0.1
    scratch_baseline: str = "student"  # key of the student also trained without a teacher
    latency: dict[str, int] = field(default_factory=lambda: {"runs": 100, "warmup": 10, "threads": 1})
    init_from: dict[str, str | None] = field(default_factory=dict)  # student key -> checkpoint to start from
    student_train: dict[str, dict[str, Any]] = field(default_factory=dict)  # student key -> `train` overrides

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> DistillConfig:
        raw = dict(raw or {})
        reject_unknown_keys("distill", raw, cls)
        config = cls(**raw)
        config.validate()
        return config

    def validate(self) -> None:
        if self.teacher not in TEACHER_SOURCES:
            raise ConfigError(f"distill.teacher: {self.teacher!r} is not one of {TEACHER_SOURCES}")
        if not 0 <= self.ratio <= 1:
            raise ConfigError(f"distill.ratio: must lie in [0, 1], got {self.ratio}")
        if not self.temperature > 0:
            raise ConfigError(f"distill.temperature: must be > 0, got {self.temperature}")
        if self.scratch_baseline not in self.students:
            raise ConfigError(
                f"distill.scratch_baseline: {self.scratch_baseline!r} is not a key of distill.students "
                f"({sorted(self.students)})"
            )

    def student_train_config(self, key: str, teacher_meta: dict[str, Any]) -> TrainConfig:
        """The teacher's training recipe (augmentation, loss, seed) with the student's model and budget."""
        if key not in self.students:
            raise ConfigError(f"distill.students has no {key!r}; known students: {sorted(self.students)}")
        base = dict(teacher_meta.get("train_config", {}))
        input_size = self.input_size or int(teacher_meta["input_size"])
        return TrainConfig.from_dict({**base, **self.train, **(self.student_train.get(key) or {}),
                                      "model": dict(self.students[key]), "input_size": input_size,
                                      "init_from": self.init_from.get(key)})  # never the teacher's own start


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
        self.teacher.to(image.device)
        with torch.no_grad():
            target = self.teacher(image)
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


def set_bn_momentum(model: nn.Module, momentum: float | None) -> nn.Module:
    """Set every BatchNorm's running-statistics momentum (no-op for None); returns the model."""
    if momentum is not None:
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.momentum = momentum
    return model
