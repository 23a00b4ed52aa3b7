"""Feature extractors: image (N, 3, H, W) -> globally pooled feature vector (N, C).

All start from scratch (``weights=None``): nothing is downloaded. ``pretrained_path`` loads a local
state_dict, either a full torchvision classification checkpoint (its classifier is dropped) or one
saved from a backbone built here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torchvision import models as tvm
from torchvision.ops.misc import Conv2dNormActivation

from headpose.errors import ConfigError


def _round_channels(channels: float) -> int:
    """Nearest multiple of 8 (at least 8): keeps channel counts friendly to SIMD and INT8 kernels."""
    return max(8, int(channels + 4) // 8 * 8)


class MobileNetReLU(nn.Module):
    """MobileNetV1 (depthwise-separable convs, BatchNorm, ReLU6) with a width multiplier.

    No hardswish and no squeeze-excite, so every op has a fast INT8 kernel; 3DDFA_V2 uses this
    architecture at width 0.5.
    """

    # (output channels, stride) of the 13 depthwise-separable blocks.
    _BLOCKS = (
        (64, 1),
        (128, 2),
        (128, 1),
        (256, 2),
        (256, 1),
        (512, 2),
        (512, 1),
        (512, 1),
        (512, 1),
        (512, 1),
        (512, 1),
        (1024, 2),
        (1024, 1),
    )

    def __init__(self, width_mult: float = 1.0) -> None:
        super().__init__()
        channels = _round_channels(32 * width_mult)
        layers: list[nn.Module] = [Conv2dNormActivation(3, channels, 3, stride=2, activation_layer=nn.ReLU6)]
        for out, stride in self._BLOCKS:
            out = _round_channels(out * width_mult)
            layers += [
                Conv2dNormActivation(
                    channels, channels, 3, stride=stride, groups=channels, activation_layer=nn.ReLU6
                ),
                Conv2dNormActivation(channels, out, 1, activation_layer=nn.ReLU6),
            ]
            channels = out
        self.features = nn.Sequential(*layers)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1))
        self.out_channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.features(x))


# name -> (constructor taking width_mult, attribute of the classifier to drop, or None)
_BACKBONES: dict[str, tuple[Callable[[float], nn.Module], str | None]] = {
    "resnet18": (lambda w: tvm.resnet18(weights=None), "fc"),
    "resnet34": (lambda w: tvm.resnet34(weights=None), "fc"),
    "resnet50": (lambda w: tvm.resnet50(weights=None), "fc"),
    "mobilenet_v3_small": (lambda w: tvm.mobilenet_v3_small(weights=None, width_mult=w), "classifier"),
    "mobilenet_v3_large": (lambda w: tvm.mobilenet_v3_large(weights=None, width_mult=w), "classifier"),
    "mobilenet_relu": (MobileNetReLU, None),
}
_WIDTH_MULT = {"mobilenet_v3_small", "mobilenet_v3_large", "mobilenet_relu"}


def list_backbones() -> list[str]:
    return sorted(_BACKBONES)


def _out_channels(head: nn.Module) -> int:
    """Input width of a torchvision classifier (a Linear, or a Sequential starting with one)."""
    first = head[0] if isinstance(head, nn.Sequential) else head
    return first.in_features


def _load_local(model: nn.Module, path: str | Path, head: str | None) -> None:
    """Load a local checkpoint, ignoring classifier weights since the classifier is replaced."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: backbone checkpoint not found; give a local state_dict file or None")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if head is not None:
        state = {k: v for k, v in state.items() if not k.startswith(f"{head}.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if head is None or not k.startswith(f"{head}.")]
    if missing or unexpected:
        raise ConfigError(
            f"{path}: checkpoint does not match this backbone "
            f"(missing {missing[:5]}, unexpected {unexpected[:5]}); "
            "use a torchvision checkpoint of the same architecture or one saved from it"
        )


def create_backbone(
    name: str, pretrained_path: str | Path | None = None, width_mult: float = 1.0
) -> tuple[nn.Module, int]:
    """Build backbone ``name``; returns (module mapping images to (N, C) features, C)."""
    if name not in _BACKBONES:
        raise ConfigError(f"unknown backbone {name!r}; known backbones: {', '.join(list_backbones())}")
    if width_mult != 1.0 and name not in _WIDTH_MULT:
        raise ConfigError(
            f"backbone {name!r} has no width multiplier (got width_mult={width_mult}); "
            f"width_mult applies to {', '.join(sorted(_WIDTH_MULT))}"
        )
    build, head = _BACKBONES[name]
    model = build(width_mult)
    if pretrained_path is not None:
        _load_local(model, pretrained_path, head)
    if head is None:
        return model, model.out_channels
    channels = _out_channels(getattr(model, head))
    setattr(model, head, nn.Identity())
    return model, channels
