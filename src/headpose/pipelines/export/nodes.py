"""Export stage nodes: ONNX for every configured PyTorch model, parity-checked on real test crops."""

from __future__ import annotations

import logging

from headpose.data.faceset import FaceSet
from headpose.deploy.artifacts import ExportConfig, select
from headpose.deploy.onnx_export import export_set
from headpose.evaluation import as_mlflow_metrics

log = logging.getLogger(__name__)


def export_models(test: FaceSet, export: ExportConfig, **artifacts) -> tuple[dict[str, bytes], dict, dict]:
    """The deployable ONNX set ``{<name>.onnx: bytes}``, a parity report, and MLflow metrics.

    Checkpoints are exported (or their FP32 ONNX from another stage reused) and must match PyTorch
    within ``parity_tol_deg`` on real test crops (GateError otherwise); ONNX files of other stages
    (INT8 Q/DQ) join the set once they load in ONNX Runtime (headpose.deploy.onnx_export.export_set).
    """
    present, missing = select(export.models, artifacts, "export")
    files, models = export_set(present, artifacts, test.images[: export.parity_images], export)
    for item in missing:
        log.warning("export: %s skipped: %s", item["name"], item["reason"])
    report = {"models": models, "missing": missing, "parity_tol_deg": export.parity_tol_deg}
    metrics = as_mlflow_metrics(
        {
            name: {"size_bytes": entry["size_bytes"], **(entry["parity"] or {})}
            for name, entry in models.items()
        }
    )
    return files, report, metrics
