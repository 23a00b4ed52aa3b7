"""Model registry: build any head-pose model by name, and rebuild it from a plain-data spec.

Every model's ``forward(x)`` takes ImageNet-normalised float32 images (N, 3, H, W) and returns a dict
holding at least ``angles`` (N, 3): yaw, pitch, roll in degrees. :func:`create_model` records the
model's full constructor arguments in ``model.spec`` so a checkpoint can be stored as spec +
state_dict and rebuilt by :func:`build_from_spec` without pickled code.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import torch
from torch import nn

from headpose.errors import ConfigError

_REGISTRY: dict[str, type[nn.Module]] = {}
# Arguments that only initialise weights: a rebuilt model gets its weights from the state_dict.
_INIT_ONLY_ARGS = ("pretrained_path",)

M = TypeVar("M", bound=type[nn.Module])


def register_model(name: str) -> Callable[[M], M]:
    """Class decorator: make the model buildable as ``create_model(name, **kwargs)``."""

    def decorator(cls: M) -> M:
        if name in _REGISTRY:
            raise ConfigError(
                f"model name {name!r} is registered twice "
                f"({_REGISTRY[name].__qualname__} and {cls.__qualname__})"
            )
        _REGISTRY[name] = cls
        return cls

    return decorator


def list_models() -> list[str]:
    return sorted(_REGISTRY)


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build model ``name`` with constructor ``kwargs``; sets ``model.spec``."""
    if name not in _REGISTRY:
        raise ConfigError(f"unknown model {name!r}; known models: {', '.join(list_models())}")
    cls = _REGISTRY[name]
    try:
        bound = inspect.signature(cls).bind(**kwargs)
    except TypeError as exc:
        accepted = ", ".join(inspect.signature(cls).parameters)
        raise ConfigError(f"model {name!r}: {exc}; accepted arguments: {accepted}") from None
    bound.apply_defaults()
    model = cls(**bound.arguments)
    model.spec = {"name": name, **{k: v for k, v in bound.arguments.items() if k not in _INIT_ONLY_ARGS}}
    return model


def build_from_spec(
    spec: Mapping[str, Any], state_dict: Mapping[str, torch.Tensor] | None = None
) -> nn.Module:
    """Rebuild a model from ``model.spec`` (e.g. read back from JSON/YAML), optionally loading weights."""
    if "name" not in spec:
        raise ConfigError(f"model spec {dict(spec)} has no 'name'; known models: {', '.join(list_models())}")
    kwargs = dict(spec)
    model = create_model(kwargs.pop("name"), **kwargs)
    if state_dict is not None:
        model.load_state_dict(state_dict)
    return model


class AnglesOnly(nn.Module):
    """Wraps a model so ``forward`` returns just the (N, 3) angles tensor: one named ONNX output."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)["angles"]
