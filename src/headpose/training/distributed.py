"""Multi-GPU / multi-node training through torchrun, launched from a single Kedro node.

Kedro runs the node once; the node writes its inputs to a work directory and starts
``torchrun ... -m headpose.training.distributed WORKDIR``; every rank trains its shard with DDP and
rank 0 writes the checkpoint and history that the node then returns. Extra torchrun flags
(``--nnodes``, ``--rdzv-endpoint`` ...) pass through ``distributed.torchrun_args``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
import torch.distributed as dist

from headpose.data.faceset import FaceSet, load_faceset, save_faceset
from headpose.errors import HeadposeError
from headpose.training.checkpoint import Checkpoint, initial_model, load_checkpoint, save_checkpoint
from headpose.training.config import TrainConfig
from headpose.training.loop import TrainResult, fit


def train_distributed(train: FaceSet, val: FaceSet, config: TrainConfig) -> tuple[Checkpoint, TrainResult]:
    """Run :func:`fit` under torchrun with ``config.distributed.nproc_per_node`` processes."""
    options = config.distributed
    with tempfile.TemporaryDirectory(prefix="headpose-ddp-") as tmp:
        work = Path(tmp)
        save_faceset(train, work / "train")
        save_faceset(val, work / "val")
        (work / "config.json").write_text(json.dumps(config.to_dict()))
        cmd = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            *(["--standalone"] if "--nnodes" not in " ".join(options.get("torchrun_args", [])) else []),
            f"--nproc-per-node={options['nproc_per_node']}",
            *options.get("torchrun_args", []),
            "-m",
            "headpose.training.distributed",
            str(work),
        ]
        env = {**os.environ, "OMP_NUM_THREADS": str(options.get("threads_per_process", 1))}
        completed = subprocess.run(cmd, env=env)
        if completed.returncode != 0:
            raise HeadposeError(f"torchrun exited with status {completed.returncode}: {' '.join(cmd)}")
        checkpoint = load_checkpoint(work / "model.pt")
        summary = json.loads((work / "result.json").read_text())
    result = TrainResult(model=checkpoint.model, **summary)
    return checkpoint, result


def _worker(work: Path) -> None:
    config = TrainConfig.from_dict(json.loads((work / "config.json").read_text()))
    backend = config.distributed.get("backend", "auto")
    if backend == "auto":
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend)
    try:
        model = initial_model(config.model, config.init_from)
        result = fit(model, load_faceset(work / "train"), load_faceset(work / "val"), config)
        if dist.get_rank() == 0:
            meta = {"input_size": config.input_size, "train_config": config.to_dict()}
            save_checkpoint(Checkpoint(result.model, meta), work / "model.pt")
            summary = {
                k: getattr(result, k)
                for k in ("history", "best_epoch", "best_val_mae", "seconds", "images_per_second")
            }
            (work / "result.json").write_text(json.dumps(summary))
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    _worker(Path(sys.argv[1]))
