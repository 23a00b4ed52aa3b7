"""Training configuration: one typed object built from ``parameters_train.yml``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from headpose.config import Config, knob


@dataclass
class LossConfig(Config, section="train.loss"):
    alpha: float = knob(0.01, lo=0.0)  # Hopenet: weight of the expectation MSE (degrees^2) next to bin CE
    wing_w: float = knob(10.0, lo=0.0)  # Wing loss on angles (degrees) for direct regressors
    wing_epsilon: float = knob(2.0, lo=1e-6)
    large_angle_threshold_deg: float = knob(45.0, lo=0.0, hi=180.0)
    large_angle_weight: float = knob(2.0, lo=0.0)  # samples beyond the threshold count this many times
    geodesic_weight: float = knob(1.0, lo=0.0)  # rotation-matrix models
    param_weight: float = knob(0.1, lo=0.0)  # 3DMM: shape/expression regression (1.0 swamps the pose)
    param_regularization: float = knob(1e-3, lo=0.0)  # 3DMM: L2 pull of predicted parameters to the mean face


@dataclass
class TrainConfig(Config, section="train"):
    model: dict[str, Any] = knob({"name": "hopenet", "backbone": "resnet18"})
    input_size: int = knob(64, lo=32)
    epochs: int = knob(10, lo=1)
    batch_size: int = knob(64, lo=1)
    lr: float = knob(1e-3, lo=1e-12)
    weight_decay: float = knob(1e-4, lo=0.0)
    warmup_epochs: float = knob(0.5, lo=0.0)
    early_stopping_patience: int = knob(5, lo=1)
    # step budget, at most epochs x steps per epoch; the cosine schedule ends there
    max_steps: int | None = knob(None, lo=1)
    max_minutes: float | None = knob(None, lo=0.0)  # wall-clock safety cap: stop at the step that crosses it
    seed: int = knob(0, lo=0)
    num_workers: int = knob(0, lo=0)
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    amp: bool = True  # mixed precision where a GPU is used
    threads: int | None = knob(None, lo=1)  # torch intra-op threads on CPU (None: torch default)
    distributed: dict[str, Any] = knob({"nproc_per_node": 1, "backend": "auto"})
    loss: LossConfig = field(default_factory=LossConfig)
    augment: dict[str, Any] | None = knob({})
    init_from: str | None = None  # start from this checkpoint's weights (.pt, pretrained, models:/...)
    # BatchNorm keeps the running statistics it starts with: a fine-tune on another domain (synthetic
    # heads after real photos) would otherwise replace the normalisation the weights were learned with.
    freeze_batchnorm: bool = False
    # WiSE-FT (Wortsman et al., 2022): the final weights are init + alpha * (fine-tuned - init). The
    # weight-space ensemble keeps most of what the starting model knew of a domain the fine-tuning data
    # lack (real photos, when fine-tuning on synthetic heads). 1: the fine-tuned weights; needs init_from.
    wise_ft_alpha: float = knob(1.0, lo=0.0, hi=1.0)
    resume_from: str | None = None  # state file written after every epoch; a killed run resumes from it

    def check(self) -> None:
        if not isinstance(self.model.get("name"), str):
            raise self.problem("model", f"expected a mapping with a model 'name', got {self.model!r}")
        if self.wise_ft_alpha < 1.0 and self.init_from is None:
            raise self.problem(
                "wise_ft_alpha", "blends the fine-tuned weights with init_from's, but init_from is null"
            )

    def to_dict(self) -> dict[str, Any]:
        """The recipe (what a derived model inherits): every field but this run's resume file."""
        recipe = asdict(self)
        recipe.pop("resume_from")
        return recipe
