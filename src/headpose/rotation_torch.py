"""Torch mirrors of :mod:`headpose.angles` for use inside models and losses (differentiable, exportable).

Same convention, same formulas: ``R = Rx(-pitch) @ Ry(-yaw) @ Rz(-roll)``, angles in degrees ordered
(yaw, pitch, roll). Tests check these functions against angles.py numerically; change both together.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from headpose.angles import BIN_CENTERS_DEG

# Plain multiplications instead of torch.deg2rad/rad2deg and torch.linalg.cross: the legacy
# (TorchScript) ONNX exporter has no symbolic for those; both exporters handle the plain ops.
_DEG = 180.0 / math.pi


def _cross(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    a1, a2, a3 = a.unbind(-1)
    b1, b2, b3 = b.unbind(-1)
    return torch.stack([a2 * b3 - a3 * b2, a3 * b1 - a1 * b3, a1 * b2 - a2 * b1], -1)


def _rx(a: torch.Tensor) -> torch.Tensor:
    c, s, o, z = torch.cos(a), torch.sin(a), torch.ones_like(a), torch.zeros_like(a)
    return torch.stack([o, z, z, z, c, -s, z, s, c], -1).unflatten(-1, (3, 3))


def _ry(a: torch.Tensor) -> torch.Tensor:
    c, s, o, z = torch.cos(a), torch.sin(a), torch.ones_like(a), torch.zeros_like(a)
    return torch.stack([c, z, s, z, o, z, -s, z, c], -1).unflatten(-1, (3, 3))


def _rz(a: torch.Tensor) -> torch.Tensor:
    c, s, o, z = torch.cos(a), torch.sin(a), torch.ones_like(a), torch.zeros_like(a)
    return torch.stack([c, -s, z, s, c, z, z, z, o], -1).unflatten(-1, (3, 3))


def euler_to_matrix(ypr_deg: torch.Tensor) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) of (yaw, pitch, roll) degrees (..., 3); see angles.euler_to_matrix."""
    yaw, pitch, roll = (ypr_deg / _DEG).unbind(-1)
    return _rx(-pitch) @ _ry(-yaw) @ _rz(-roll)


def matrix_to_euler(rotation: torch.Tensor) -> torch.Tensor:
    """(yaw, pitch, roll) degrees (..., 3) of rotation matrices (..., 3, 3); see angles.matrix_to_euler."""
    b = torch.asin(torch.clamp(rotation[..., 0, 2], -1.0, 1.0))
    a = torch.atan2(-rotation[..., 1, 2], rotation[..., 2, 2])
    c = torch.atan2(-rotation[..., 0, 1], rotation[..., 0, 0])
    return torch.stack([-b, -a, -c], -1) * _DEG


def rotation_6d_to_matrix(x: torch.Tensor) -> torch.Tensor:
    """Gram-Schmidt of a 6D vector (..., 6) into a rotation (..., 3, 3) (Zhou et al. 2019).

    ``x[..., :3]`` and ``x[..., 3:]`` are the first two columns before orthonormalisation; the third
    column is their cross product, so the result always has determinant +1.
    """
    b1 = F.normalize(x[..., :3], dim=-1)
    b3 = F.normalize(_cross(b1, x[..., 3:]), dim=-1)
    b2 = _cross(b3, b1)
    return torch.stack([b1, b2, b3], -1)


def bins_to_degrees(logits: torch.Tensor) -> torch.Tensor:
    """Expected angle in degrees under softmax(logits) over Hopenet's bins: (..., NUM_BINS) -> (...)."""
    centers = torch.as_tensor(BIN_CENTERS_DEG, dtype=logits.dtype, device=logits.device)
    return torch.softmax(logits, -1) @ centers
