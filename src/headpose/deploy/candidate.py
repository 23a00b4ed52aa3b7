"""Which benchmarked artifact is registered, and with which checkpoint beside it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from headpose.deploy.artifacts import ExportConfig
from headpose.errors import HeadposeError

log = logging.getLogger(__name__)


def choose_candidate(
    rows: list[dict[str, Any]], preferred: str | None = None, backends: tuple[str, ...] = ("onnxruntime",)
) -> tuple[dict[str, Any], str]:
    """The benchmark row to register, and why.

    ``preferred`` (the row named by the quantize stage's shipping decision) wins when it was
    measured; otherwise the measured row of a deployable backend with the lowest MAE x latency
    (degrees x ms) does.
    """
    deployable = [
        r
        for r in rows
        if r["backend"] in backends
        and not r["skipped"]
        and r.get("mae_synthetic") is not None
        and r.get("p50_ms") is not None
    ]
    if not deployable:
        raise HeadposeError(
            f"no deployable artifact in the benchmark (backends {backends}); rows: "
            + ", ".join(f"{r['name']} ({r['skipped'] or r['backend']})" for r in rows)
        )
    matches = [r for r in deployable if r["name"] == preferred]
    if matches:
        return matches[0], f"the shipping decision names {preferred!r}"
    if preferred is not None:
        log.warning(
            "the shipping decision names %r, which was not measured on %s; choosing by MAE x latency",
            preferred,
            backends,
        )
    best = min(deployable, key=lambda r: r["mae_synthetic"] * r["p50_ms"])
    return best, (
        f"lowest MAE x latency ({best['mae_synthetic']:.3f} deg x {best['p50_ms']:.3f} ms) "
        f"among {len(deployable)} deployable artifacts"
    )


def shipped_row_name(shipping: dict[str, Any] | None, export: ExportConfig) -> str | None:
    """The benchmark row of the artifact the shipping decision names (``ships`` or its ``dataset``)."""
    from headpose.deploy.runnables import row_name

    for spec in export.models if shipping else ():
        if spec.name == shipping.get("ships") or spec.dataset == shipping.get("dataset"):
            return row_name(spec.name, "onnxruntime")
    return None


def candidate_checkpoint(candidate: dict[str, Any], export: ExportConfig, upstream: dict[str, Any]):
    """The checkpoint registered beside the candidate's ONNX: its PyTorch source's, or None when the
    ONNX does not hold the source's weights (QAT fine-tunes past its parent's checkpoint)."""
    from headpose.deploy.runnables import row_name

    sources = [spec for spec in export.models if row_name(spec.name, "pytorch") == candidate["source"]]
    checkpoint = upstream.get(sources[0].dataset) if sources else None
    if checkpoint is not None and checkpoint_mismatch(candidate["path"], checkpoint)[1] is not None:
        log.warning(
            "%s was trained further than %s; registered without a checkpoint",
            candidate["name"],
            sources[0].dataset,
        )
        return None
    return checkpoint


def checkpoint_mismatch(onnx_path: str | Path, checkpoint) -> tuple[str, str | None]:
    """(the weights digest the ONNX records or "not recorded", the checkpoint's digest when it differs
    from the recorded one, else None)."""
    import onnx

    from headpose.deploy.onnx_export import weights_digest
    from headpose.deploy.runtime import onnx_metadata

    recorded = onnx_metadata(onnx.load(str(onnx_path), load_external_data=False)).get("weights_sha256")
    if recorded is None or checkpoint is None:
        return recorded or "not recorded", None
    actual = weights_digest(checkpoint.model)
    return recorded, (None if actual == recorded else actual)
