"""Which losses a model trains with, chosen from what it outputs.

- ``logits`` (binned models: Hopenet, students): bin cross-entropy + alpha * expectation MSE
- ``rotation`` (6D model): geodesic loss on the rotation matrix
- otherwise (FSA-Net): Wing loss on the angles
- ``params`` (3DMM regressor): + Wing loss on shape/expression parameters + their L2 regulariser
Every term is weighted per sample so large angles (beyond the threshold) count more.
"""

from __future__ import annotations

import torch

from headpose import losses
from headpose.training.config import LossConfig


class Objective:
    def __init__(self, config: LossConfig):
        self.config = config

    def __call__(
        self, outputs: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        c = self.config
        weights = losses.large_angle_weights(
            batch["angles"], c.large_angle_threshold_deg, c.large_angle_weight
        )
        parts: dict[str, torch.Tensor] = {}
        if "logits" in outputs:
            parts["binned"] = losses.binned_loss(
                outputs["logits"], batch["bins"], batch["angles"], c.alpha, sample_weights=weights
            )
        elif "rotation" in outputs:
            parts["geodesic"] = c.geodesic_weight * losses.geodesic_loss(
                outputs["rotation"], batch["rotation"], sample_weights=weights
            )
        else:
            parts["wing"] = losses.wing_loss(
                outputs["angles"], batch["angles"], c.wing_w, c.wing_epsilon, sample_weights=weights
            )
        if "params" in outputs and "shape_params" in batch:
            target = torch.cat([batch["shape_params"], batch["expression_params"]], dim=1)
            predicted = outputs["params"][:, -target.shape[1] :]
            # a mirrored face is not the same identity/expression: no parameter target for it
            unflipped = weights * (1.0 - batch["flipped"].float()) if "flipped" in batch else weights
            parts["params"] = c.param_weight * losses.wing_loss(
                predicted, target, 1.0, 0.5, sample_weights=unflipped
            )
            parts["param_reg"] = losses.param_regularization(
                predicted, [c.param_regularization] * target.shape[1]
            )
        loss = sum(parts.values())
        return loss, {"loss": loss.detach(), **{k: v.detach() for k, v in parts.items()}}
