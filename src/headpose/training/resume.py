"""Resuming a killed training run: the state file must be of the same recipe, model and data."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import torch

from headpose.data.faceset import FaceSet
from headpose.training.config import TrainConfig

log = logging.getLogger(__name__)


def run_fingerprint(config: TrainConfig, model: torch.nn.Module, train: FaceSet, val: FaceSet) -> str:
    """What a resume state must match: the recipe (budgets that only cap wall time excluded), the
    architecture and the data sizes."""
    recipe = {k: v for k, v in config.to_dict().items() if k not in ("max_minutes", "threads", "num_workers")}
    blob = json.dumps(
        [recipe, getattr(model, "spec", type(model).__name__), len(train), len(val)],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def load_resume_state(path: Path, fingerprint: str) -> dict[str, Any] | None:
    """The state a killed run left at ``path``, if it is readable and of this run; else None."""
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a damaged state costs the progress, never the run
        log.warning("%s: unreadable resume state, training from the start (%s)", path, exc)
        return None
    if state.get("fingerprint") != fingerprint:
        log.warning("%s: resume state of another recipe or data, training from the start", path)
        return None
    return state
