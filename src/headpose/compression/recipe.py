"""A compressed model is trained with its parent's recipe: one merge for pruning, distillation and QAT."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from headpose.training.config import TrainConfig


def inherit_recipe(
    parent_meta: Mapping[str, Any], *overrides: Mapping[str, Any] | None, **pinned: Any
) -> TrainConfig:
    """The parent checkpoint's training recipe (augmentation, loss, seed, ...), with each mapping of
    ``overrides`` laid over it in turn (top-level keys replace whole values, ``loss`` included) and
    ``pinned`` last: what the child must have whatever the recipe says (its model, input size...)."""
    recipe = dict(parent_meta.get("train_config") or {})
    for layer in overrides:
        recipe.update(layer or {})
    return TrainConfig.from_dict({**recipe, **pinned})
