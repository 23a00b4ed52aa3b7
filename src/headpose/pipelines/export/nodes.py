"""Export stage nodes: ONNX for every configured PyTorch model, parity-checked on real test crops."""

from __future__ import annotations

import hashlib
import logging
import tempfile
from pathlib import Path
from typing import Any

from headpose.data.faceset import FaceSet
from headpose.data.preprocess import to_model_input
from headpose.deploy.artifacts import parse_specs, select
from headpose.deploy.onnx_export import check_parity, export_onnx, save_onnx
from headpose.deploy.runtime import onnx_predictor

log = logging.getLogger(__name__)


def export_models(test: FaceSet, export: dict[str, Any], **artifacts) -> tuple[dict[str, bytes], dict, dict]:
    """The deployable ONNX set ``{<name>.onnx: bytes}``, a parity report, and MLflow metrics.

    Checkpoints are exported (or their FP32 ONNX from another stage reused, ``onnx`` in the spec) and
    must match PyTorch within ``parity_tol_deg`` on real test crops (GateError otherwise); ONNX files
    of other stages (INT8 Q/DQ) join the set once they load in ONNX Runtime -- their accuracy gate
    belongs to the stage that made them.
    """
    specs = parse_specs(export["models"], "export.models")
    present, missing = select(specs, artifacts, "export")
    parity_batch = test.images[: export["parity_images"]]
    files, report = {}, {"models": {}, "missing": missing, "parity_tol_deg": export["parity_tol_deg"]}
    with tempfile.TemporaryDirectory(prefix="headpose-export-") as tmp:
        for spec, value in present:
            path = Path(tmp) / f"{spec.name}.onnx"
            entry = {"dataset": spec.dataset, "kind": spec.kind, "precision": spec.precision, "source": spec.source}
            if spec.kind == "checkpoint":
                if artifacts.get(spec.onnx) is not None:  # exported upstream: reuse it, still parity-checked here
                    save_onnx(artifacts[spec.onnx], path)
                    entry["reused"] = spec.onnx
                else:
                    export_onnx(value.model, value.input_size, path, opset=export["opset"],
                                simplify=export["simplify"])
                batch = to_model_input(parity_batch, value.input_size)
                entry["parity"] = check_parity(value.model, path, batch, tol_deg=export["parity_tol_deg"])
                entry["source"] = spec.name
            else:
                save_onnx(value, path)
                entry["parity"] = None
            entry["input_size"] = onnx_predictor(path).input_size  # must load in ONNX Runtime as shipped
            files[path.name] = path.read_bytes()
            entry.update(size_bytes=len(files[path.name]), sha256=hashlib.sha256(files[path.name]).hexdigest())
            report["models"][spec.name] = entry
            log.info("ONNX %s (%s, %s) ready: parity %s", spec.name, spec.dataset, spec.precision, entry["parity"])
    for item in missing:
        log.warning("export: %s skipped: %s", item["name"], item["reason"])
    metrics = {f"{name}.{key}": {"value": float(value), "step": 0}
               for name, entry in report["models"].items()
               for key, value in {"size_bytes": entry["size_bytes"], **(entry["parity"] or {})}.items()}
    return files, report, metrics
