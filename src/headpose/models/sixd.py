"""6DRepNet-style model (Hempel et al. 2022): backbone -> 6D rotation -> Gram-Schmidt -> angles.

The 6D representation is continuous, unlike Euler angles, so the network never has to learn the
wrap-around; train it with losses.geodesic_loss on ``rotation``.
"""

from __future__ import annotations

import torch
from torch import nn

from headpose.models.backbones import create_backbone
from headpose.models.registry import register_model
from headpose.rotation_torch import matrix_to_euler, rotation_6d_to_matrix


@register_model("sixd")
class SixDRepNet(nn.Module):
    def __init__(
        self, backbone: str = "resnet18", width_mult: float = 1.0, pretrained_path: str | None = None
    ) -> None:
        super().__init__()
        self.backbone, channels = create_backbone(backbone, pretrained_path, width_mult)
        self.head = nn.Linear(channels, 6)
        # Start at the frontal pose (first two columns of the identity) so early outputs are sane.
        with torch.no_grad():
            self.head.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        rotation = rotation_6d_to_matrix(self.head(self.backbone(x)))
        return {"rotation": rotation, "angles": matrix_to_euler(rotation)}
