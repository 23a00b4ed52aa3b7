"""Checkpoints: architecture spec + state_dict + resolved config + metrics, no pickled code.

Loading uses ``torch.load(..., weights_only=True)``, so a checkpoint cannot run code.
Structurally pruned models reload too: layers are resized to the shapes stored in the state_dict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from headpose.errors import ConfigError, DatasetError
from headpose.io import atomic_path
from headpose.models import build_from_spec, create_model


@dataclass
class Checkpoint:
    """A model and what produced it: resolved config, metrics, input size (plain types only)."""

    model: nn.Module
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def input_size(self) -> int:
        return int(self.meta["input_size"])


def save_checkpoint(checkpoint: Checkpoint, path: str | Path) -> None:
    payload = {
        "spec": dict(checkpoint.model.spec),
        "state_dict": checkpoint.model.state_dict(),
        "meta": checkpoint.meta,
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> Checkpoint:
    """The model (eval mode) and its metadata from a file written by :func:`save_checkpoint`."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: checkpoint not found")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # corrupt, truncated, or not a torch file
        raise DatasetError(
            f"{path}: not a readable headpose checkpoint ({exc.__class__.__name__}: {exc})"
        ) from exc
    if not isinstance(payload, dict) or "spec" not in payload or "state_dict" not in payload:
        raise DatasetError(f"{path}: missing 'spec' or 'state_dict'; was it written by headpose?")
    try:
        model = build_from_spec(payload["spec"])
        resize_to_state_dict(model, payload["state_dict"])
        model.load_state_dict(payload["state_dict"])
    except (RuntimeError, KeyError, TypeError, ValueError) as exc:  # weights that do not fit the spec
        first = " ".join(str(exc).split())[:300]
        raise DatasetError(
            f"{path}: its weights do not match its architecture {payload['spec']} ({first})"
        ) from exc
    return Checkpoint(model.eval(), payload.get("meta", {}))


def resize_to_state_dict(model: nn.Module, state_dict: dict[str, torch.Tensor]) -> None:
    """Shrink Conv/BatchNorm/Linear layers to the shapes in ``state_dict`` (channel-pruned models)."""
    for name, module in model.named_modules():
        weight = state_dict.get(f"{name}.weight")
        if weight is None:
            continue
        if isinstance(module, nn.Conv2d) and weight.shape != module.weight.shape:
            depthwise = module.groups == module.in_channels and module.groups > 1
            module.out_channels = weight.shape[0]
            module.groups = weight.shape[0] if depthwise else module.groups
            module.in_channels = weight.shape[1] * module.groups
            module.weight = nn.Parameter(torch.empty_like(weight))
            if module.bias is not None:
                module.bias = nn.Parameter(torch.empty(weight.shape[0]))
        elif isinstance(module, nn.BatchNorm2d | nn.BatchNorm1d) and weight.shape != module.weight.shape:
            n = weight.shape[0]
            module.num_features = n
            module.weight, module.bias = nn.Parameter(torch.empty(n)), nn.Parameter(torch.empty(n))
            module.running_mean, module.running_var = torch.zeros(n), torch.ones(n)
        elif isinstance(module, nn.Linear) and weight.shape != module.weight.shape:
            module.out_features, module.in_features = weight.shape
            module.weight = nn.Parameter(torch.empty_like(weight))
            if module.bias is not None:
                module.bias = nn.Parameter(torch.empty(weight.shape[0]))


def initial_model(spec: dict[str, Any], init_from: str | None = None) -> nn.Module:
    """The model training starts from: fresh weights of ``spec``, or the weights of the checkpoint
    ``init_from`` names (a .pt path, ``pretrained``, or ``models:/name@alias``). Its architecture must
    be ``spec``: fine-tuning never silently swaps the model that was configured."""
    model = create_model(**spec)
    if init_from is None:
        return model
    from headpose.deploy.model_refs import resolve_model_uri

    path = resolve_model_uri(init_from, prefer=".pt")
    if path.suffix != ".pt":
        raise ConfigError(f"init_from {init_from!r}: {path} is not a .pt checkpoint (spec + state_dict)")
    start = load_checkpoint(path).model
    if dict(start.spec) != dict(model.spec):
        raise ConfigError(
            f"init_from {init_from!r}: the checkpoint is {dict(start.spec)}, "
            f"but the configured model is {dict(model.spec)}"
        )
    return start.train()


def interpolate_weights(
    start: dict[str, torch.Tensor], tuned: dict[str, torch.Tensor], alpha: float
) -> dict[str, torch.Tensor]:
    """``start + alpha * (tuned - start)`` for every floating-point tensor (weights and BatchNorm
    statistics); integer buffers (BatchNorm's batch counters) are ``tuned``'s."""
    if start.keys() != tuned.keys():
        raise ValueError("the two state_dicts hold different tensors: not the same architecture")
    return {
        name: torch.lerp(start[name], value, alpha) if value.is_floating_point() else value
        for name, value in tuned.items()
    }
