"""FSA-Net (Yang et al., CVPR 2019): fine-grained structure aggregation + stage-wise soft regression.

Follows the paper and its reference code (``FSA_net_Capsule``), at about 0.24 M parameters:

1. Two streams of separable convs (ReLU + average pooling, tanh + max pooling); at K = 3 stages
   (strides 8, 8, 4) each stream's map goes through a 1x1 conv and the two are multiplied
   element-wise, giving U_k (N, 64, g, g) after average pooling to a g x g grid (g = 8 at 64 px).
2. Fine-grained structure mapping: a scoring function (``"conv"``: 1x1 conv + sigmoid,
   ``"variance"``: variance over channels, ``"uniform"``: all ones — the paper's three variants)
   gives attention maps A_k; S_k = SL @ SR_k with SR_k = sigmoid(Dense(A_k)) (shared Dense) and
   SL = sigmoid(Dense([A_1, A_2, A_3])); row-normalised S_k selects ``primary_per_stage`` features
   from all K*g*g pixel features.
3. Aggregation of the 3 * ``primary_per_stage`` selected features into one 16-d vector per stage.
4. Soft stagewise regression (SSR-Net): stage k predicts bin probabilities p_k over ``stage_bins[k]``
   bins, per-bin index shifts Δ_k in (-1, 1) and a range scale η_k in (-1, 1); per angle
   ``angle = V * sum_k sum_i p_k,i * (i - s_k // 2 + Δ_k,i) / prod_{j<=k} s_j * (1 + η_j)``,
   with V = angles.ANGLE_LIMIT_DEG.

Differences from the paper, all so the model exports to ONNX with plain ops (MatMul, Softmax,
ReduceSum) and quantises cleanly:

- Step 3 replaces the capsule layer's dynamic routing (iterative, with squash) by one pass of
  learned-query attention: per-stage predictions u_hat_{j|i} = W_ij u_i as in a capsule layer,
  coupling weights softmax_i(<u_hat_{j|i}, q_j> / 4), output sum_i c_ij u_hat_{j|i}.
- Bin probabilities use softmax (as SSR-Net's paper) instead of the code's unnormalised ReLU, and
  the index shift is per bin (as SSR-Net's paper) instead of one per stage.
- Stage maps are pooled to the grid adaptively, so any input whose side is a multiple of 8 * g
  works (the reference code is fixed to 64 x 64); the paper's three-variant ensemble is left to the
  caller: each scoring function is a separate model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from headpose.angles import ANGLE_LIMIT_DEG
from headpose.errors import ConfigError
from headpose.models.registry import register_model

_STAGES = 3
_STAGE_CHANNELS = 64
_CAPSULE_DIM = 16  # split as in the reference code: [0:4] -> η, [4:8] -> Δ, [8:16] -> p
_SCORINGS = ("conv", "variance", "uniform")


def _sep_conv(cin: int, cout: int, act: type[nn.Module]) -> nn.Sequential:
    """Keras' SeparableConv2D + BatchNorm + activation."""
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False),
        nn.Conv2d(cin, cout, 1, bias=False),
        nn.BatchNorm2d(cout),
        act(),
    )


class _Stream(nn.Module):
    """One stream; returns its maps at the three stages (strides 8, 8, 4; 128, 64, 32 channels)."""

    def __init__(self, act: type[nn.Module], pool: type[nn.Module]) -> None:
        super().__init__()
        self.block1 = nn.Sequential(_sep_conv(3, 16, act), pool(2))
        self.block2 = nn.Sequential(_sep_conv(16, 32, act), _sep_conv(32, 32, act), pool(2))
        self.block3 = nn.Sequential(_sep_conv(32, 64, act), _sep_conv(64, 64, act), pool(2))
        self.block4 = nn.Sequential(_sep_conv(64, 128, act), _sep_conv(128, 128, act))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        l2 = self.block2(self.block1(x))
        l3 = self.block3(l2)
        return self.block4(l3), l3, l2


class _SSRStage(nn.Module):
    """Maps a stage's aggregated 16-d vector to SSR's (p, Δ, η) for yaw, pitch and roll."""

    def __init__(self, bins: int) -> None:
        super().__init__()
        self.bins = bins
        self.eta = nn.Linear(4, 3)
        self.shift = nn.Linear(4, 3 * bins)
        self.prob = nn.Linear(8, 3 * bins)

    def forward(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        eta = torch.tanh(self.eta(v[:, 0:4]))
        shift = torch.tanh(self.shift(v[:, 4:8])).unflatten(-1, (3, self.bins))
        prob = torch.softmax(self.prob(v[:, 8:16]).unflatten(-1, (3, self.bins)), -1)
        return prob, shift, eta


@register_model("fsanet")
class FSANet(nn.Module):
    def __init__(
        self,
        scoring: str = "conv",
        stage_bins: Sequence[int] = (3, 3, 3),
        grid: int = 8,
        primary_per_stage: int = 7,
        m_dim: int = 5,
    ) -> None:
        super().__init__()
        if scoring not in _SCORINGS:
            raise ConfigError(f"fsanet: unknown scoring {scoring!r}; choose one of {', '.join(_SCORINGS)}")
        if len(stage_bins) != _STAGES or min(stage_bins) < 1:
            raise ConfigError(f"fsanet: stage_bins must be {_STAGES} positive bin counts, got {stage_bins}")
        self.scoring, self.grid, self.primary, self.m_dim = scoring, grid, primary_per_stage, m_dim
        pixels = grid * grid
        self.relu_stream = _Stream(nn.ReLU, nn.AvgPool2d)
        self.tanh_stream = _Stream(nn.Tanh, nn.MaxPool2d)
        self.relu_proj = nn.ModuleList(nn.Conv2d(c, _STAGE_CHANNELS, 1) for c in (128, 64, 32))
        self.tanh_proj = nn.ModuleList(nn.Conv2d(c, _STAGE_CHANNELS, 1) for c in (128, 64, 32))
        self.score = nn.Conv2d(_STAGE_CHANNELS, 1, 1) if scoring == "conv" else None
        self.select_r = nn.Linear(pixels, m_dim * _STAGES * pixels)  # SR, shared by the stages
        self.select_l = nn.Linear(_STAGES * pixels, primary_per_stage * m_dim)  # SL
        # Aggregation: projections W_ij per (stage, primary feature) and one query per stage; a zero
        # query starts with uniform coupling, like the first iteration of dynamic routing.
        primaries = _STAGES * primary_per_stage
        self.agg_weight = nn.Parameter(
            torch.randn(_STAGES, primaries, _CAPSULE_DIM, _STAGE_CHANNELS) / math.sqrt(_STAGE_CHANNELS)
        )
        self.agg_query = nn.Parameter(torch.zeros(_STAGES, _CAPSULE_DIM))
        self.ssr = nn.ModuleList(_SSRStage(b) for b in stage_bins)

    def _stage_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        pairs = zip(self.relu_stream(x), self.tanh_stream(x), self.relu_proj, self.tanh_proj)
        return [
            F.adaptive_avg_pool2d(torch.relu(rp(r)) * torch.tanh(tp(t)), self.grid) for r, t, rp, tp in pairs
        ]

    def _attention(self, u: torch.Tensor) -> torch.Tensor:
        """Scoring function Φ: (N, C, g, g) -> (N, g*g)."""
        if self.score is not None:
            return torch.sigmoid(self.score(u)).flatten(1)
        if self.scoring == "variance":
            return u.var(dim=1, unbiased=False).flatten(1)
        return torch.ones_like(u[:, 0]).flatten(1)

    def _select(self, maps: list[torch.Tensor]) -> torch.Tensor:
        """Fine-grained structure mapping: (N, 3 * primary_per_stage, C) selected features."""
        scores = [self._attention(u) for u in maps]
        pixels = torch.cat([u.flatten(2) for u in maps], -1).transpose(1, 2)  # (N, K*g*g, C)
        s_left = torch.sigmoid(self.select_l(torch.cat(scores, -1))).unflatten(-1, (self.primary, self.m_dim))
        selected = []
        for a in scores:
            s_right = torch.sigmoid(self.select_r(a)).unflatten(-1, (self.m_dim, -1))
            s = s_left @ s_right  # (N, primary, K*g*g), positive
            selected.append((s @ pixels) / s.sum(-1, keepdim=True))
        return torch.cat(selected, 1)

    def _aggregate(self, primaries: torch.Tensor) -> torch.Tensor:
        """(N, I, C) -> (N, K, 16): attention in place of capsule dynamic routing."""
        u_hat = (self.agg_weight @ primaries.unsqueeze(1).unsqueeze(-1)).squeeze(-1)  # (N, K, I, 16)
        logits = (u_hat @ self.agg_query.unsqueeze(-1)).squeeze(-1) / math.sqrt(_CAPSULE_DIM)
        return (torch.softmax(logits, -1).unsqueeze(-1) * u_hat).sum(2)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        stage_vectors = self._aggregate(self._select(self._stage_maps(x)))
        angle = 0.0
        scale = 1.0
        for k, stage in enumerate(self.ssr):
            prob, shift, eta = stage(stage_vectors[:, k])
            index = torch.arange(stage.bins, dtype=x.dtype, device=x.device) - stage.bins // 2
            # tanh saturates to exactly -1 in float32; keep the bin width finite there.
            scale = scale * stage.bins * (1.0 + eta).clamp_min(1e-3)
            angle = angle + (prob * (index + shift)).sum(-1) / scale
        return {"angles": angle * ANGLE_LIMIT_DEG}
