"""Structured channel pruning with torch-pruning's dependency graph, iterated with fine-tuning.

Channels are removed for real (coupled layers shrink together: residual adds, depthwise convs,
squeeze-excite), so the pruned network is smaller *and* faster. The heads (every layer outside
``model.backbone``) keep their outputs: torch-pruning ignores them, only their input width follows
the backbone. Each step prunes toward a MACs target on a geometric schedule, then fine-tunes with
:func:`headpose.training.loop.fit`.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch_pruning as tp
from torch import nn
from torch.utils.data import DataLoader

from headpose.compression.gates import check_drops
from headpose.compression.latency import LatencyConfig
from headpose.compression.profile import profile_model
from headpose.compression.recipe import inherit_recipe
from headpose.config import Config, knob
from headpose.data.faceset import FaceSet
from headpose.data.torch_dataset import FaceDataset
from headpose.errors import ConfigError
from headpose.flops import count_macs, count_params
from headpose.training.checkpoint import Checkpoint
from headpose.training.config import TrainConfig
from headpose.training.loop import fit
from headpose.training.objective import Objective

log = logging.getLogger(__name__)
IMPORTANCES = ("magnitude", "taylor")


@dataclass(frozen=True)
class PruneConfig(Config, section="prune"):
    importance: str = knob("taylor", choices=IMPORTANCES)  # magnitude (|w|_p of each channel group) | taylor
    norm: int = knob(2, lo=1)  # p of the magnitude criterion
    taylor_batches: int = knob(4, lo=1)  # training batches whose gradients score channels (taylor)
    target_macs_ratio: float | None = knob(0.5, lo=0.0, hi=1.0)  # keep at most this fraction of the MACs ...
    pruning_ratio: float | None = knob(None, lo=0.0, hi=1.0)  # ... or remove this fraction of channels
    iterative_steps: int = knob(2, lo=1)  # prune -> fine-tune rounds
    round_to: int = knob(8, lo=1)  # channel counts stay multiples of 8 (SIMD / INT8 kernels)
    max_drop_deg: float = knob(1.0, lo=0.0)  # gate: pruned MAE may exceed the parent's by at most this
    finetune_images: int | None = knob(None, lo=1)  # random training crops per fine-tune round (None: all)
    finetune: dict[str, Any] = knob({})  # TrainConfig overrides for each fine-tune
    latency: LatencyConfig = field(default_factory=LatencyConfig)

    def check(self) -> None:
        if (self.target_macs_ratio is None) == (self.pruning_ratio is None):
            raise self.problem(
                "target_macs_ratio",
                (
                    "set exactly one of target_macs_ratio and pruning_ratio (the other null); "
                    f"got target_macs_ratio={self.target_macs_ratio}, pruning_ratio={self.pruning_ratio}"
                ),
            )
        for key in ("target_macs_ratio", "pruning_ratio"):
            if getattr(self, key) in (0.0, 1.0):
                raise self.problem(key, f"must lie strictly between 0 and 1, got {getattr(self, key)}")


def head_modules(model: nn.Module) -> list[nn.Module]:
    """Layers whose outputs must keep their size: everything with weights outside ``model.backbone``."""
    backbone = getattr(model, "backbone", None)
    if not isinstance(backbone, nn.Module):
        raise ConfigError(
            f"pruning needs a model with a `backbone` (the part to prune); "
            f"{getattr(model, 'spec', {}).get('name', type(model).__name__)} has none"
        )
    inside = {id(m) for m in backbone.modules()}
    return [m for m in model.modules() if id(m) not in inside and isinstance(m, (nn.Conv2d, nn.Linear))]


def _logits_or_angles(outputs: dict[str, torch.Tensor]) -> torch.Tensor:
    """The tensor the dependency graph traces back from (the model's raw head output)."""
    return outputs.get("logits", outputs["angles"])


def _build_pruner(
    model: nn.Module, input_size: int, importance: tp.importance.Importance, ratio: float, config: PruneConfig
) -> tp.pruner.MetaPruner:
    example = torch.zeros(1, 3, input_size, input_size)
    return tp.pruner.MetaPruner(
        model,
        example,
        importance=importance,
        pruning_ratio=ratio,
        ignored_layers=head_modules(model),
        round_to=config.round_to,
        output_transform=_logits_or_angles,
    )


def _importance(config: PruneConfig) -> tp.importance.Importance:
    if config.importance == "taylor":
        return tp.importance.TaylorImportance()
    return tp.importance.MagnitudeImportance(p=config.norm)


def _accumulate_gradients(model: nn.Module, train: FaceSet, train_config: TrainConfig, batches: int) -> None:
    """Gradients of the training loss on a few batches: the first-order Taylor importance needs them."""
    loader = DataLoader(
        FaceDataset(train, train_config.input_size, seed=train_config.seed),
        batch_size=train_config.batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(train_config.seed),
    )
    objective = Objective(train_config.loss)
    device = next(model.parameters()).device
    model.eval()  # eval: scoring must not move BatchNorm's running statistics
    model.zero_grad(set_to_none=True)
    for i, batch in enumerate(loader):
        if i >= batches:
            break
        batch = {k: v.to(device) for k, v in batch.items()}
        loss, _ = objective(model(batch["image"]), batch)
        loss.backward()


def prune_once(
    model: nn.Module,
    input_size: int,
    target_macs: int | None,
    ratio: float | None,
    config: PruneConfig,
    gradients: Callable[[], None] | None = None,
    max_rounds: int = 10,
) -> None:
    """Prune ``model`` in place: by ``ratio`` of its channels, or until its MACs are <= ``target_macs``.

    Toward a MACs target each round removes 1 - sqrt(target / current) of the channels (MACs fall
    roughly with the square of the width) and measures again, so the target is met exactly despite
    round_to and layers that cannot shrink.
    """
    importance = _importance(config)
    for _ in range(max_rounds):
        macs = count_macs(model, input_size)
        if target_macs is not None and macs <= target_macs:
            return
        step_ratio = ratio if target_macs is None else min(0.9, max(0.02, 1 - (target_macs / macs) ** 0.5))
        if gradients is not None:
            gradients()
        _build_pruner(model, input_size, importance, step_ratio, config).step()
        model.zero_grad(set_to_none=True)
        if target_macs is None:
            return
        if count_macs(model, input_size) >= macs:
            raise ConfigError(
                f"prune: cannot reach {target_macs:,} MACs: stuck at {macs:,} "
                "(every prunable channel group is at its minimum); raise prune.target_macs_ratio"
            )
    raise ConfigError(
        f"prune: {max_rounds} rounds did not reach {target_macs:,} MACs; raise prune.target_macs_ratio"
    )


@dataclass
class PruneResult:
    model: nn.Module
    steps: list[dict[str, float]]


def prune_and_finetune(
    model: nn.Module,
    train: FaceSet,
    val: FaceSet,
    input_size: int,
    config: PruneConfig,
    finetune: TrainConfig,
) -> PruneResult:
    """Iterative pruning: ``config.iterative_steps`` rounds of prune -> fine-tune (in place on ``model``)."""
    base_macs = count_macs(model, input_size)
    rng = np.random.default_rng(finetune.seed)
    steps = []
    for step in range(1, config.iterative_steps + 1):
        fraction = step / config.iterative_steps
        target = (
            None if config.target_macs_ratio is None else int(base_macs * config.target_macs_ratio**fraction)
        )
        # Channel fraction removed so far after this step, on the linear schedule torch-pruning uses.
        ratio = None
        if config.pruning_ratio is not None:
            done, goal = (
                config.pruning_ratio * (step - 1) / config.iterative_steps,
                config.pruning_ratio * fraction,
            )
            ratio = 1 - (1 - goal) / (1 - done)
        gradients = None
        if config.importance == "taylor":
            gradients = lambda: _accumulate_gradients(model, train, finetune, config.taylor_batches)  # noqa: E731
        prune_once(model, input_size, target, ratio, config, gradients)
        subset = train
        if config.finetune_images is not None and config.finetune_images < len(train):
            subset = train.subset(np.sort(rng.choice(len(train), config.finetune_images, replace=False)))
        result = fit(model, subset, val, finetune)
        record = {
            "step": float(step),
            "params": float(count_params(model)),
            "macs": float(count_macs(model, input_size)),
            "val_mae": result.best_val_mae,
            "finetune_seconds": result.seconds,
        }
        log.info(
            "prune step %d: %d params, %d MACs (%.0f%% of the parent), val MAE %.3f",
            step,
            record["params"],
            record["macs"],
            100 * record["macs"] / base_macs,
            record["val_mae"],
        )
        steps.append(record)
    return PruneResult(model, steps)


def prune_checkpoint(
    teacher: Checkpoint,
    train: FaceSet,
    val: FaceSet,
    test: FaceSet,
    real_test: FaceSet | None,
    config: PruneConfig,
) -> tuple[Checkpoint, dict[str, Any]]:
    """A pruned, fine-tuned copy of ``teacher`` (its recipe, ``config.finetune`` on top) and a report:
    both models profiled on the same sets, the gates, the per-step record. GateError if the test MAE
    (or the real MAE, when a real set is given) drops more than ``config.max_drop_deg``."""
    size = teacher.input_size
    finetune = inherit_recipe(teacher.meta, config.finetune, model=dict(teacher.model.spec), input_size=size)
    before = profile_model(teacher.model, size, test, config.latency, real_test)
    result = prune_and_finetune(copy.deepcopy(teacher.model), train, val, size, config, finetune)
    after = profile_model(result.model, size, test, config.latency, real_test)
    gates = check_drops("prune", before, after, config.max_drop_deg)
    summary = {
        "macs_ratio": after["macs"] / before["macs"],
        "params_ratio": after["params"] / before["params"],
        "torch_speedup": before["torch_latency_median_ms"] / after["torch_latency_median_ms"],
        "mae_drop_deg": gates[0]["drop_deg"],
    }
    log.info(
        "pruned: MACs %.0f -> %.0f, torch latency %.3f -> %.3f ms (%.2fx), test MAE %.3f -> %.3f",
        before["macs"],
        after["macs"],
        before["torch_latency_median_ms"],
        after["torch_latency_median_ms"],
        summary["torch_speedup"],
        before["mae"],
        after["mae"],
    )
    checkpoint = Checkpoint(
        result.model,
        {
            "input_size": size,
            "train_config": finetune.to_dict(),
            "parent": "teacher",
            "prune": asdict(config),
            "params": after["params"],
            "macs": after["macs"],
            "test_mae": after["mae"],
            "real_mae": after["mae_real"],
        },
    )
    report = {
        "teacher": before,
        "pruned": after,
        **summary,
        "gates": gates,
        "steps": result.steps,
        "config": asdict(config),
    }
    return checkpoint, report
