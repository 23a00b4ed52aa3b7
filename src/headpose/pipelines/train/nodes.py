"""Train stage nodes: fit the configured teacher, then evaluate it honestly."""

from __future__ import annotations

from matplotlib.figure import Figure

from headpose.data.faceset import FaceSet
from headpose.evaluation import (
    as_mlflow_metrics,
    error_vs_angle_figure,
    euler_mae_floor,
    evaluate_sets,
    torch_predictor,
)
from headpose.flops import count_macs, count_params
from headpose.training.checkpoint import Checkpoint, initial_model
from headpose.training.config import TrainConfig
from headpose.training.distributed import train_distributed
from headpose.training.loop import fit


def train_model(train: FaceSet, val: FaceSet, config: TrainConfig) -> tuple[Checkpoint, dict]:
    """Train the configured model (torchrun/DDP when ``distributed.nproc_per_node`` > 1); ``config``
    carries the ``augment`` block (headpose.parameters)."""
    if config.distributed.get("nproc_per_node", 1) > 1:
        _, result = train_distributed(train, val, config)
    else:
        result = fit(initial_model(config.model, config.init_from), train, val, config)
    checkpoint = result.checkpoint(config, training_data=train.describe_sources())
    history = result.metrics_history()
    history.update(as_mlflow_metrics({k: checkpoint.meta[k] for k in ("params", "macs")}))
    return checkpoint, history


def evaluate_teacher(checkpoint: Checkpoint, test: FaceSet, real_test: FaceSet) -> tuple[dict, dict, Figure]:
    """MAE on the synthetic test split and on the configured real test set (if any)."""
    metrics, predictions = evaluate_sets(
        torch_predictor(checkpoint.model), checkpoint.input_size, {"synthetic": test, "real": real_test}
    )
    report = {
        "model": checkpoint.model.spec,
        "params": count_params(checkpoint.model),
        "macs": count_macs(checkpoint.model, checkpoint.input_size),
        "metrics": metrics,
        # what Euler MAE a rotation error of 1/2/3/5 deg alone would cost on each label set
        "euler_mae_floor": {
            set_name: {f"geodesic_{g}deg": euler_mae_floor(faceset.angles, g) for g in (1, 2, 3, 5)}
            for set_name, faceset in (("synthetic", test), ("real", real_test))
            if len(faceset)
        },
    }
    figure = error_vs_angle_figure(predictions["synthetic"], test.angles, title="teacher: synthetic test")
    return as_mlflow_metrics(metrics), report, figure
