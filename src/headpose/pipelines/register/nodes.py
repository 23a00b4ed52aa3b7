"""Register stage nodes: one candidate into the MLflow Model Registry, promoted only through the gates."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from headpose.data.faceset import FaceSet
from headpose.deploy.artifacts import parse_specs
from headpose.deploy.benchmark import row_name
from headpose.deploy.registry import (Gates, checkpoint_mismatch, choose_candidate, data_version, lineage_tags,
                                      register_candidate)
from headpose.deploy.runtime import load_model
from headpose.evaluation import faceset_mae

log = logging.getLogger(__name__)


def register_model(rows: list[dict[str, Any]], test: FaceSet, real_test: FaceSet, register: dict[str, Any],
                   export: dict[str, Any], **upstream) -> dict[str, Any]:
    """Register the candidate ONNX (+ its PyTorch checkpoint) as model ``register.model_name``.

    The candidate is the artifact named by the quantize stage's shipping decision when there is
    one, else the ONNX artifact with the lowest MAE x latency in the benchmark. The report says
    which alias it got (champion or challenger) and why.
    """
    shipping = upstream.pop("shipping_decision", None)
    specs = {spec.name: spec for spec in parse_specs(export["models"], "export.models")}
    candidate, why = choose_candidate(rows, shipped_row_name(shipping, specs))
    sources = [spec for spec in specs.values() if row_name(spec.name, "pytorch") == candidate["source"]]
    checkpoint = upstream.get(sources[0].dataset) if sources else None
    if checkpoint is not None and checkpoint_mismatch(candidate["path"], checkpoint)[1] is not None:
        # QAT fine-tunes after its parent's checkpoint: the served weights have no checkpoint of their own
        log.warning("%s was trained further than %s; registered without a checkpoint", candidate["name"], sources[0].dataset)
        checkpoint = None

    gates = Gates.from_dict(register["gates"]).for_candidate(candidate)
    gate_set = real_test if gates.mae_metric == "mae_real" else test  # the set the gate's MAE is measured on

    def remeasure(model_uri: str) -> float:
        model = load_model(model_uri, threads=None)
        return faceset_mae(model.predict, gate_set, model.input_size)

    result = register_candidate(
        candidate, Path(candidate["path"]), checkpoint, gates,
        data_version(Path.cwd(), register["data_version_path"]), register["model_name"],
        remeasure=remeasure if register["remeasure_champion"] else None, example_image=test.images[0],
        extra_tags=lineage_tags(Path.cwd(), register["lineage"]),
    )
    return {**result, "candidate_reason": why, "shipping_decision": shipping}


def shipped_row_name(shipping: dict[str, Any] | None, specs: dict) -> str | None:
    """The benchmark row of the artifact the shipping decision names (``ships``, or its catalog ``dataset``)."""
    if not shipping:
        return None
    for spec in specs.values():
        if spec.name == shipping.get("ships") or spec.dataset == shipping.get("dataset"):
            return row_name(spec.name, "onnxruntime")
    return None
