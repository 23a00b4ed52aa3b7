"""Training losses for the head-pose models.

One reduction rule everywhere: a sample's loss sums over its components (yaw, pitch and roll; bins;
parameters), and the batch loss is the mean over samples of ``sample_weights * loss`` (weights of 1
when omitted, e.g. from :func:`large_angle_weights`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from headpose.rotation_torch import bins_to_degrees


def _reduce(per_sample: torch.Tensor, sample_weights: torch.Tensor | None) -> torch.Tensor:
    if sample_weights is None:
        return per_sample.mean()
    return (per_sample * sample_weights.to(per_sample)).mean()


def binned_loss(
    logits: torch.Tensor,
    bins: torch.Tensor,
    angles: torch.Tensor,
    alpha: float,
    sample_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Hopenet's loss: cross-entropy on the bins + ``alpha`` * squared error of the expected angle.

    logits (N, 3, NUM_BINS); bins (N, 3) int64 from angles.angle_to_bin; angles (N, 3) degrees.
    """
    ce = F.cross_entropy(logits.flatten(0, 1), bins.flatten(), reduction="none").view_as(angles)
    se = (bins_to_degrees(logits) - angles) ** 2
    return _reduce((ce + alpha * se).sum(-1), sample_weights)


def wing_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    w: float = 10.0,
    epsilon: float = 2.0,
    sample_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Wing loss (Feng et al. 2018): w*ln(1 + |x|/epsilon) for |x| < w, else |x| - C.

    C = w - w*ln(1 + w/epsilon) joins the two pieces continuously (the seed's ``|x| - w`` jumps).
    """
    x = (pred - target).abs()
    c = w - w * math.log1p(w / epsilon)
    loss = torch.where(x < w, w * torch.log1p(x / epsilon), x - c)
    return _reduce(loss.flatten(1).sum(-1), sample_weights)


def large_angle_weights(
    angles: torch.Tensor, threshold_deg: float = 45.0, weight: float = 2.0
) -> torch.Tensor:
    """Per-sample weights (N,): ``weight`` where the largest |angle| exceeds the threshold, else 1.

    Extreme poses are rare in training data; up-weighting them counters their larger errors.
    """
    ones = torch.ones_like(angles[..., 0])
    return torch.where(angles.abs().amax(-1) > threshold_deg, ones * weight, ones)


def geodesic_loss(
    r_pred: torch.Tensor, r_true: torch.Tensor, sample_weights: torch.Tensor | None = None, eps: float = 1e-7
) -> torch.Tensor:
    """Mean rotation angle (radians) between (N, 3, 3) rotation matrices.

    The cosine is clamped to [-1 + eps, 1 - eps]: acos has an infinite gradient at +-1.
    """
    rel = r_pred.transpose(-1, -2) @ r_true
    cos = (rel.diagonal(dim1=-2, dim2=-1).sum(-1) - 1.0) / 2.0
    return _reduce(torch.acos(torch.clamp(cos, -1.0 + eps, 1.0 - eps)), sample_weights)


def param_regularization(
    params: torch.Tensor, weights: torch.Tensor | Sequence[float], sample_weights: torch.Tensor | None = None
) -> torch.Tensor:
    """3DDFA-style prior: weighted squared L2 of 3DMM coefficients, sum_j weights_j * params_j**2.

    params (N, P); weights (P,), e.g. Dense3DMM.regularization_weights (zero for the pose).
    """
    weights = torch.as_tensor(weights, dtype=params.dtype, device=params.device)
    return _reduce((weights * params**2).sum(-1), sample_weights)


def distillation_kl(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    temperature: float,
    sample_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """KL(teacher || student) of temperature-softened bin distributions, times T**2 (Hinton et al. 2015).

    The T**2 keeps the gradient scale independent of the temperature. Logits (N, 3, NUM_BINS).
    """
    student = F.log_softmax(student_logits / temperature, -1)
    teacher = F.log_softmax(teacher_logits / temperature, -1)
    kl = F.kl_div(student, teacher, log_target=True, reduction="none")
    return _reduce(kl.flatten(1).sum(-1), sample_weights) * temperature**2
