"""Hopenet (Ruiz et al. 2018): a backbone and, per angle, a classifier over Hopenet's 3-degree bins.

The angle is the softmax expectation over the bin centres (angles.BIN_CENTERS_DEG); training uses
cross-entropy on the bins plus a regression term on that expectation (losses.binned_loss).

``flip_average``: at inference (eval mode) the angles are the mean of the crop's and its mirror
image's, whose yaw and roll change sign (angles.flip_horizontal); one batch of 2N, no extra
weights, so a model trained without it gains it by its spec alone. Training is unchanged.
"""

from __future__ import annotations

import torch
from torch import nn

from headpose.angles import NUM_BINS
from headpose.models.backbones import create_backbone
from headpose.models.registry import register_model
from headpose.rotation_torch import bins_to_degrees


@register_model("hopenet")
class Hopenet(nn.Module):
    def __init__(
        self,
        backbone: str = "resnet50",
        width_mult: float = 1.0,
        flip_average: bool = False,
        pretrained_path: str | None = None,
    ) -> None:
        super().__init__()
        self.backbone, channels = create_backbone(backbone, pretrained_path, width_mult)
        # The yaw, pitch and roll classifiers fused in one matmul: rows k*NUM_BINS.. belong to angle k.
        self.head = nn.Linear(channels, 3 * NUM_BINS)
        self.flip_average = bool(flip_average)
        self.register_buffer("mirror_signs", torch.tensor([-1.0, 1.0, -1.0]), persistent=False)

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x)).unflatten(-1, (3, NUM_BINS))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.training or not self.flip_average:
            logits = self._logits(x)
            return {"logits": logits, "angles": bins_to_degrees(logits)}
        n = x.shape[0]
        both = self._logits(torch.cat([x, x.flip(-1)]))
        logits = both[:n]
        angles = (bins_to_degrees(logits) + bins_to_degrees(both[n:]) * self.mirror_signs) / 2
        return {"logits": logits, "angles": angles}
