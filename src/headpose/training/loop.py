"""The training loop: cosine schedule with warm-up, AMP on GPU, early stopping on validation MAE.

Works single-process or under torchrun (DDP): when ``torch.distributed`` is initialised the model
is wrapped in DistributedDataParallel and each rank sees its shard of every epoch.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler
from tqdm.auto import tqdm

from headpose.data.augment import AugmentConfig, build_augmentation
from headpose.data.faceset import FaceSet
from headpose.data.torch_dataset import FaceDataset
from headpose.evaluation import pose_metrics, predict_faceset, torch_predictor
from headpose.flops import count_macs, count_params
from headpose.io import atomic_path
from headpose.training.checkpoint import Checkpoint, interpolate_weights
from headpose.training.config import TrainConfig
from headpose.training.objective import Objective
from headpose.training.resume import load_resume_state, run_fingerprint

log = logging.getLogger(__name__)
EpochCallback = Callable[[int, dict[str, float]], None]


@dataclass
class TrainResult:
    model: torch.nn.Module
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_val_mae: float = math.inf
    seconds: float = 0.0
    images_per_second: float = 0.0
    steps: int = 0

    def summary(self) -> dict[str, float]:
        return {
            "best_epoch": self.best_epoch,
            "best_val_mae": self.best_val_mae,
            "train_steps": self.steps,
            "train_seconds": self.seconds,
            "train_images_per_second": self.images_per_second,
        }

    def checkpoint(self, config: TrainConfig, **meta: Any) -> Checkpoint:
        """The trained model with what produced it: input size, resolved config, summary, params, MACs."""
        return Checkpoint(
            self.model,
            {
                "input_size": config.input_size,
                "train_config": config.to_dict(),
                **self.summary(),
                "params": count_params(self.model),
                "macs": count_macs(self.model, config.input_size),
                **meta,
            },
        )

    def metrics_history(self) -> dict[str, list[dict[str, float]]]:
        """Per-epoch metrics (step = epoch) and the summary (step 0), as kedro-mlflow's
        MlflowMetricsHistoryDataset saves them."""
        keys = sorted({k for h in self.history for k in h})
        history = {
            k: [{"value": float(h[k]), "step": step} for step, h in enumerate(self.history, 1) if k in h]
            for k in keys
        }
        history.update({k: [{"value": float(v), "step": 0}] for k, v in self.summary().items()})
        return history


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)


def cosine_with_warmup(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int):
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(1, warmup_steps)
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _is_main() -> bool:
    return not dist.is_initialized() or dist.get_rank() == 0


def freeze_batchnorm(model: torch.nn.Module) -> None:
    """Put every BatchNorm in eval mode: it normalises with, and no longer updates, its running statistics
    (its affine weights still train)."""
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.eval()


def fit(
    model: torch.nn.Module,
    train: FaceSet,
    val: FaceSet,
    config: TrainConfig,
    objective: Objective | None = None,
    on_epoch: EpochCallback | None = None,
) -> TrainResult:
    """Train ``model`` on ``train``; keep the weights with the best validation MAE."""
    seed_everything(config.seed)
    if config.threads:
        torch.set_num_threads(config.threads)
    device = resolve_device(config.device)
    if dist.is_initialized() and device.type == "cuda":
        device = torch.device("cuda", dist.get_rank() % torch.cuda.device_count())
    model = model.to(device)
    start_state = copy.deepcopy(model.state_dict()) if config.wise_ft_alpha < 1.0 else None
    objective = objective or Objective(config.loss)
    augmenter = build_augmentation(AugmentConfig.from_dict(config.augment)) if config.augment else None
    dataset = FaceDataset(train, augmenter=augmenter, input_size=config.input_size, seed=config.seed)
    sampler = DistributedSampler(dataset, seed=config.seed) if dist.is_initialized() else None
    loader = DataLoader(
        dataset,
        batch_size=config.batch_size,
        shuffle=sampler is None,
        sampler=sampler,
        num_workers=config.num_workers,
        drop_last=len(dataset) > config.batch_size,
        pin_memory=device.type == "cuda",
        persistent_workers=config.num_workers > 0,
        generator=torch.Generator().manual_seed(config.seed),
    )
    wrapped = torch.nn.parallel.DistributedDataParallel(model) if dist.is_initialized() else model
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = max(1, len(loader))
    total_steps = config.epochs * steps_per_epoch
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)
    scheduler = cosine_with_warmup(optimizer, int(config.warmup_epochs * steps_per_epoch), total_steps)
    use_amp = config.amp and device.type == "cuda"
    amp_dtype = torch.bfloat16 if use_amp and torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)

    result = TrainResult(model=model)
    best_state, stale, images_seen, train_seconds = copy.deepcopy(model.state_dict()), 0, 0, 0.0
    global_step, first_epoch = 0, 1
    resume_path = Path(config.resume_from) if config.resume_from else None
    fingerprint = run_fingerprint(config, model, train, val) if resume_path else ""
    state = load_resume_state(resume_path, fingerprint) if resume_path else None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        loader.generator.set_state(state["loader_rng"])
        torch.set_rng_state(state["torch_rng"])
        best_state, stale, images_seen, train_seconds = (
            state["best_state"],
            state["stale"],
            state["images"],
            state["seconds"],
        )
        global_step, first_epoch = state["step"], state["epoch"] + 1
        result.history, result.best_epoch, result.best_val_mae = (
            state["history"],
            state["best_epoch"],
            state["best_val_mae"],
        )
        log.info("resuming from %s: epoch %d done, step %d", resume_path, state["epoch"], global_step)
    start = time.perf_counter()

    def save_state(epoch: int) -> None:
        """Everything the next epoch depends on, atomically (a kill mid-write keeps the previous state)."""
        if resume_path is None or not _is_main():
            return
        payload = {
            "fingerprint": fingerprint,
            "epoch": epoch,
            "step": global_step,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "scaler": scaler.state_dict(),
            "loader_rng": loader.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "best_state": best_state,
            "stale": stale,
            "images": images_seen,
            "seconds": train_seconds,
            "history": result.history,
            "best_epoch": result.best_epoch,
            "best_val_mae": result.best_val_mae,
        }
        with atomic_path(resume_path) as tmp:
            torch.save(payload, tmp)

    def over_budget() -> bool:
        expired = bool(config.max_minutes) and time.perf_counter() - start > 60 * config.max_minutes
        if dist.is_initialized():  # rank 0 decides, or ranks would stop at different steps and hang
            flag = torch.tensor([float(expired)], device=device)
            dist.broadcast(flag, src=0)
            expired = bool(flag.item())
        return expired

    for epoch in range(first_epoch, config.epochs + 1):
        epoch_start = time.perf_counter()
        if sampler is not None:
            sampler.set_epoch(epoch)
        dataset.set_epoch(epoch)
        wrapped.train()
        if config.freeze_batchnorm:
            freeze_batchnorm(model)
        totals: dict[str, float] = {}
        steps = 0
        bar = tqdm(loader, desc=f"epoch {epoch}/{config.epochs}", disable=not _is_main(), leave=False)
        for batch in bar:
            batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
            with torch.autocast(device.type, dtype=amp_dtype, enabled=use_amp):
                outputs = wrapped(batch["image"])
            loss, parts = objective({k: v.float() for k, v in outputs.items()}, batch)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            images_seen += len(batch["image"])
            steps += 1
            global_step += 1
            for k, v in parts.items():
                totals[k] = totals.get(k, 0.0) + float(v)
            bar.set_postfix(loss=f"{loss.item():.3f}")
            if global_step >= total_steps or over_budget():  # per step: one epoch can outlast the budget
                break
        train_seconds += time.perf_counter() - epoch_start
        metrics = {f"train_{k}": v / max(1, steps) for k, v in totals.items()}
        val_pred = predict_faceset(torch_predictor(model, device), val, config.input_size)
        metrics.update({f"val_{k}": v for k, v in pose_metrics(val_pred, val.angles).items() if k != "n"})
        metrics["lr"] = scheduler.get_last_lr()[0]
        metrics["epoch_seconds"] = time.perf_counter() - epoch_start
        result.history.append(metrics)
        if _is_main():
            log.info(
                "epoch %d: train_loss %.4f val_mae %.3f",
                epoch,
                metrics.get("train_loss", float("nan")),
                metrics["val_mae"],
            )
            if on_epoch:
                on_epoch(epoch, metrics)
        if metrics["val_mae"] < result.best_val_mae:
            result.best_val_mae, result.best_epoch, stale = metrics["val_mae"], epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            stale += 1
            if stale >= config.early_stopping_patience:
                log.info("early stopping: no val MAE improvement for %d epochs", stale)
                break
        if global_step >= total_steps:
            break
        save_state(epoch)
        if over_budget():
            log.info("stopping: %.1f-minute training budget used", config.max_minutes)
            break
    model.load_state_dict(best_state)
    if start_state is not None:
        model.load_state_dict(interpolate_weights(start_state, best_state, config.wise_ft_alpha))
    if resume_path is not None and _is_main():
        resume_path.unlink(missing_ok=True)  # done: the model itself is the output now
    result.seconds, result.steps = time.perf_counter() - start, global_step
    world = dist.get_world_size() if dist.is_initialized() else 1
    result.images_per_second = images_seen * world / max(train_seconds, 1e-9)  # training steps only
    return result
