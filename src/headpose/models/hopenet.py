"""Hopenet (Ruiz et al. 2018): a backbone and, per angle, a classifier over Hopenet's 3-degree bins.

The angle is the softmax expectation over the bin centres (angles.BIN_CENTERS_DEG); training uses
cross-entropy on the bins plus a regression term on that expectation (losses.binned_loss).
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
    def __init__(self, backbone: str = "resnet50", width_mult: float = 1.0,
                 pretrained_path: str | None = None) -> None:
        super().__init__()
        self.backbone, channels = create_backbone(backbone, pretrained_path, width_mult)
        # The yaw, pitch and roll classifiers fused in one matmul: rows k*NUM_BINS.. belong to angle k.
        self.head = nn.Linear(channels, 3 * NUM_BINS)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        logits = self.head(self.backbone(x)).unflatten(-1, (3, NUM_BINS))
        return {"logits": logits, "angles": bins_to_degrees(logits)}
