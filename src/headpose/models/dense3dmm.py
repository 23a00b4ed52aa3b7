"""3DDFA_V2-style 3DMM regressor (Guo et al. 2020): a light MobileNet regressing camera pose + 3DMM
coefficients, with the head pose read from the regressed camera matrix.

``params`` (N, 12 + num_shape + num_expression) is laid out as 3DDFA_V2's: the 3x4 camera matrix
``[s*R | t]`` row-major, then shape, then expression coefficients. The rotation is the Gram-Schmidt
orthonormalisation of the first two rows of ``s*R`` (3DDFA_V2 only normalises them), so it is always
a proper rotation even early in training.
"""

from __future__ import annotations

import torch
from torch import nn

from headpose.models.backbones import create_backbone
from headpose.models.registry import register_model
from headpose.rotation_torch import matrix_to_euler, rotation_6d_to_matrix

POSE_PARAMS = 12


@register_model("dense3dmm")
class Dense3DMM(nn.Module):
    def __init__(
        self,
        backbone: str = "mobilenet_relu",
        width_mult: float = 0.5,
        num_shape: int = 10,
        num_expression: int = 6,
        pretrained_path: str | None = None,
    ) -> None:
        super().__init__()
        self.num_shape, self.num_expression = num_shape, num_expression
        self.backbone, channels = create_backbone(backbone, pretrained_path, width_mult)
        self.head = nn.Linear(channels, POSE_PARAMS + num_shape + num_expression)
        # Start at the frontal pose [I | 0] with a mean face (zero coefficients).
        with torch.no_grad():
            self.head.bias.zero_()
            self.head.bias[:POSE_PARAMS].copy_(torch.eye(3, 4).flatten())

    def regularization_weights(self, shape_weight: float, expression_weight: float) -> torch.Tensor:
        """Per-parameter weights for losses.param_regularization: pose unpenalised."""
        return torch.cat(
            [
                torch.zeros(POSE_PARAMS),
                torch.full((self.num_shape,), float(shape_weight)),
                torch.full((self.num_expression,), float(expression_weight)),
            ]
        )

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        params = self.head(self.backbone(x))
        rows = params[:, :POSE_PARAMS].unflatten(-1, (3, 4))[:, :2, :3]
        # Rows through the column-wise 6D routine, transposed back: rows r1, r2, r1 x r2.
        rotation = rotation_6d_to_matrix(rows.flatten(1)).transpose(-1, -2)
        return {"params": params, "rotation": rotation, "angles": matrix_to_euler(rotation)}
