"""Register stage nodes: one candidate into the MLflow Model Registry, promoted only through the gates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from headpose.data.faceset import FaceSet
from headpose.deploy.artifacts import ExportConfig
from headpose.deploy.candidate import candidate_checkpoint, choose_candidate, shipped_row_name
from headpose.deploy.lineage import data_version, lineage_tags
from headpose.deploy.mlflow_registry import RegisterConfig, register_candidate
from headpose.deploy.runtime import load_model
from headpose.evaluation import faceset_mae
from headpose.pipelines.artifacts import SHIPPING_DECISION


def register_model(
    rows: list[dict[str, Any]],
    test: FaceSet,
    real_test: FaceSet,
    register: RegisterConfig,
    export: ExportConfig,
    **upstream,
) -> dict[str, Any]:
    """Register the candidate ONNX (+ its PyTorch checkpoint) as model ``register.model_name``.

    The candidate is the artifact named by the quantize stage's shipping decision when there is
    one, else the ONNX artifact with the lowest MAE x latency in the benchmark. The report says
    which alias it got (champion or challenger) and why.
    """
    shipping = upstream.pop(SHIPPING_DECISION, None)
    candidate, why = choose_candidate(rows, shipped_row_name(shipping, export))
    checkpoint = candidate_checkpoint(candidate, export, upstream)
    gates = register.gates.for_candidate(candidate)
    gate_set = real_test if gates.mae_metric == "mae_real" else test  # the set the gate's MAE is measured on

    def remeasure(model_uri: str) -> float:
        model = load_model(model_uri, threads=None)
        return faceset_mae(model.predict, gate_set, model.input_size)

    version = data_version(Path.cwd(), register.data_version_path)
    result = register_candidate(
        candidate,
        Path(candidate["path"]),
        checkpoint,
        gates,
        version,
        register.model_name,
        remeasure=remeasure if register.remeasure_champion else None,
        example_image=test.images[0],
        extra_tags=lineage_tags(Path.cwd(), register.lineage),
    )
    return {**result, "candidate_reason": why, "shipping_decision": shipping}
