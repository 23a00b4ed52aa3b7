"""Training configuration: one typed object built from ``parameters_train.yml``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from headpose.errors import ConfigError, reject_unknown_keys


@dataclass
class LossConfig:
    alpha: float = 0.01                # Hopenet: weight of the expectation MSE (degrees^2) next to bin CE
    wing_w: float = 10.0               # Wing loss on angles (degrees) for direct regressors
    wing_epsilon: float = 2.0
    large_angle_threshold_deg: float = 45.0
    large_angle_weight: float = 2.0    # samples beyond the threshold count this many times
    geodesic_weight: float = 1.0       # rotation-matrix models
    param_weight: float = 0.1          # 3DMM: regression of shape/expression parameters (1.0 swamps the pose)
    param_regularization: float = 1e-3  # 3DMM: L2 pull of predicted parameters toward the mean face


@dataclass
class TrainConfig:
    model: dict[str, Any] = field(default_factory=lambda: {"name": "hopenet", "backbone": "resnet18"})
    input_size: int = 64
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_epochs: float = 0.5
    early_stopping_patience: int = 5
    max_steps: int | None = None       # optimiser-step budget; the cosine schedule ends there
    max_minutes: float | None = None   # wall-clock safety cap: stop at the step that crosses it
    seed: int = 0
    num_workers: int = 0
    device: str = "auto"               # auto | cpu | cuda | cuda:N
    amp: bool = True                   # mixed precision where a GPU is used
    threads: int | None = None         # torch intra-op threads on CPU (None: torch default)
    distributed: dict[str, Any] = field(default_factory=lambda: {"nproc_per_node": 1, "backend": "auto"})
    loss: LossConfig = field(default_factory=LossConfig)
    augment: dict[str, Any] = field(default_factory=dict)
    init_from: str | None = None       # start from this checkpoint's weights (.pt, pretrained, models:/...)
    resume_from: str | None = None     # state file written after every epoch; a killed run resumes from it

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TrainConfig:
        raw = dict(raw or {})
        reject_unknown_keys("train", raw, cls)
        loss_raw = dict(raw.pop("loss", {}) or {})
        reject_unknown_keys("train.loss", loss_raw, LossConfig)
        config = cls(**raw, loss=LossConfig(**loss_raw))
        config.validate()
        return config

    def validate(self) -> None:
        checks = {
            "input_size": isinstance(self.input_size, int) and self.input_size >= 32,
            "epochs": isinstance(self.epochs, int) and self.epochs >= 1,
            "batch_size": isinstance(self.batch_size, int) and self.batch_size >= 1,
            "lr": isinstance(self.lr, (int, float)) and self.lr > 0,
            "max_steps": self.max_steps is None or (isinstance(self.max_steps, int) and self.max_steps >= 1),
            "model": isinstance(self.model, dict) and isinstance(self.model.get("name"), str),
            "init_from": self.init_from is None or isinstance(self.init_from, str),
            "resume_from": self.resume_from is None or isinstance(self.resume_from, str),
        }
        for key, ok in checks.items():
            if not ok:
                raise ConfigError(f"train.{key}: invalid value {getattr(self, key)!r}")

    def to_dict(self) -> dict[str, Any]:
        """The recipe (what a derived model inherits): every field but this run's resume file."""
        recipe = asdict(self)
        recipe.pop("resume_from")
        return recipe
