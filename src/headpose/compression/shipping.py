"""Which artifact ships: every FP32 and INT8 ONNX model measured alike, INT8 gated against its parent.

Each candidate is measured on the same test sets and the same core (interleaved latency rounds, one
group per input size). An INT8 model ships only if it is within budget of its FP32 parent and of the
most accurate FP32 model, and faster than both (:func:`choose_shipping`); otherwise FP32 does.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import onnx
from matplotlib.figure import Figure

from headpose.compression.gates import GATED_SETS, gate_record
from headpose.compression.latency import InterleavedLatencyConfig, onnx_latencies
from headpose.compression.qat import QATConfig
from headpose.compression.quantization import PTQConfig
from headpose.config import Config, knob
from headpose.data.faceset import FaceSet
from headpose.deploy.onnx_export import save_onnx
from headpose.deploy.runtime import onnx_predictor
from headpose.errors import ConfigError, GateError
from headpose.evaluation import as_mlflow_metrics, faceset_mae, faceset_metrics, latency_vs_mae_figure
from headpose.flops import count_macs, count_params
from headpose.training.checkpoint import Checkpoint

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QuantizeConfig(Config, section="quantize"):
    max_drop_deg: float = knob(0.3, lo=0.0)  # an INT8 model ships only within this of its FP32 parent ...
    min_speedup: float = knob(1.05, lo=0.0)  # ... and at least this much faster (ONNX Runtime, batch 1)
    require_int8: bool = False  # fail the stage when no INT8 model qualifies
    opset: int | None = knob(None, lo=7)  # null: the exporter's current default
    simplify: bool = True  # onnxslim
    parity_images: int = knob(32, lo=1)  # FP32 ONNX vs PyTorch on test crops
    parity_tol_deg: float = knob(0.01, lo=0.0)
    latency: InterleavedLatencyConfig = field(default_factory=InterleavedLatencyConfig)
    ptq: PTQConfig = field(default_factory=PTQConfig)
    qat: QATConfig = field(default_factory=QATConfig)


@dataclass(frozen=True)
class Candidate:
    """One ONNX model that could ship."""

    name: str  # its row: FP32 models take their student's name (export ships FP32 under it)
    student: str  # the checkpoint it was made from (params, MACs, input size)
    precision: str  # fp32 | int8
    dataset: str  # the catalog entry the register stage finds it by
    model: onnx.ModelProto


def _row(
    candidate: Candidate, path: Path, footprint: dict[str, Any], test: FaceSet, real_test: FaceSet | None
) -> dict[str, Any]:
    predict = onnx_predictor(path, threads=None).predict
    metrics = faceset_metrics(predict, test, footprint["input_size"])
    return {
        "precision": candidate.precision,
        "parent": None if candidate.precision == "fp32" else candidate.student,
        "dataset": candidate.dataset,
        **footprint,
        "size_bytes": candidate.model.ByteSize(),
        **{k: metrics[k] for k in ("mae", "yaw", "pitch", "roll")},
        "mae_real": faceset_mae(predict, real_test, footprint["input_size"]),
    }


def measure_candidates(
    candidates: list[Candidate],
    checkpoints: dict[str, Checkpoint],
    test: FaceSet,
    real_test: FaceSet | None,
    latency: InterleavedLatencyConfig,
) -> dict[str, dict[str, Any]]:
    """One row per candidate: footprint, size, test (and real) accuracy, median and p99 latency."""
    footprints = {
        s: {
            "input_size": checkpoints[s].input_size,
            "params": count_params(checkpoints[s].model),
            "macs": count_macs(checkpoints[s].model, checkpoints[s].input_size),
        }
        for s in dict.fromkeys(c.student for c in candidates)
    }
    with tempfile.TemporaryDirectory(prefix="headpose-decide-") as tmp:
        paths = {c.name: save_onnx(c.model, Path(tmp) / f"{c.name}.onnx") for c in candidates}
        rows = {c.name: _row(c, paths[c.name], footprints[c.student], test, real_test) for c in candidates}
        timings: dict[str, dict[str, float]] = {}
        for size in {row["input_size"] for row in rows.values()}:
            group = {n: p for n, p in paths.items() if rows[n]["input_size"] == size}
            timings.update(onnx_latencies(group, size, latency))
    for name, row in rows.items():
        row.update(latency_ms=timings[name]["p50_ms"], latency_p99_ms=timings[name]["p99_ms"])
    return rows


def gate_int8(rows: dict[str, dict[str, Any]], max_drop_deg: float) -> None:
    """Record on every INT8 row its gates against its FP32 parent, on every set both were measured on."""
    for name, row in rows.items():
        if row["parent"]:
            parent = rows[row["parent"]]
            row["gates"] = [
                gate_record(f"quantize.{name}", parent[key], row[key], max_drop_deg, dataset)
                for key, dataset in GATED_SETS.items()
                if row[key] is not None
            ]


def decide(rows: dict[str, dict[str, Any]], config: QuantizeConfig) -> dict[str, Any]:
    """The gated decision over measured ``rows``, on the real labelled set's MAE where every row has
    one; GateError when ``require_int8`` is set and FP32 ships."""
    gate_int8(rows, config.max_drop_deg)
    metric = "mae_real" if all(r["mae_real"] is not None for r in rows.values()) else "mae"
    decision = choose_shipping(
        [{"name": n, **r} for n, r in rows.items()], config.max_drop_deg, config.min_speedup, metric
    )
    decision["dataset"] = rows[decision["ships"]]["dataset"]
    log.info("ships: %s (%s)", decision["ships"], decision["reason"])
    if config.require_int8 and decision["precision"] != "int8":
        raise GateError(
            f"quantize: no INT8 model passes (max_drop_deg {config.max_drop_deg}, "
            f"min_speedup {config.min_speedup}) and quantize.require_int8 is set: {decision['reason']}"
        )
    return decision


def shipping_figure(rows: dict[str, dict[str, Any]], ships: str) -> Figure:
    return latency_vs_mae_figure(rows, "latency_ms", "mae", "ONNX Runtime CPU: FP32 vs INT8", highlight=ships)


def shipping_metrics(
    rows: dict[str, dict[str, Any]], decision: dict[str, Any]
) -> dict[str, dict[str, float]]:
    """Every row's numbers (but its input size) and ``ships_int8``, as kedro-mlflow metrics."""
    figures = {n: {k: v for k, v in r.items() if k != "input_size"} for n, r in rows.items()}
    return as_mlflow_metrics({**figures, "ships_int8": float(decision["precision"] == "int8")})


def _verdict(
    c: dict[str, Any],
    parent: dict[str, Any],
    reference: dict[str, Any],
    max_drop_deg: float,
    min_speedup: float,
    metric: str,
) -> dict[str, Any]:
    reasons = []
    comparisons = [(parent, "its FP32 parent")]
    if reference is not parent:
        comparisons.append((reference, "the most accurate FP32 model"))
    for other, label in comparisons:
        drop = c[metric] - other[metric]
        speedup = other["latency_ms"] / c["latency_ms"]
        if not drop <= max_drop_deg:
            reasons.append(
                f"MAE {c[metric]:.3f} is {drop:.3f} deg worse than {label} {other['name']} "
                f"({other[metric]:.3f}; budget {max_drop_deg})"
            )
        if not (speedup > 1.0 and speedup >= min_speedup):
            reasons.append(
                f"{c['latency_ms']:.3f} ms is not faster than {label} {other['name']} "
                f"({other['latency_ms']:.3f} ms; speedup {speedup:.2f}x, "
                f"required > 1 and >= {min_speedup})"
            )
    return {
        **c,
        "eligible": not reasons,
        "reasons": reasons,
        "speedup_vs_parent": parent["latency_ms"] / c["latency_ms"],
        "drop_vs_parent_deg": c[metric] - parent[metric],
    }


def choose_shipping(
    candidates: list[dict[str, Any]], max_drop_deg: float, min_speedup: float = 1.0, metric: str = "mae"
) -> dict[str, Any]:
    """Which artifact ships, and why.

    ``candidates``: dicts with ``name``, ``precision`` ("fp32" or "int8"), ``mae`` (test, degrees),
    ``latency_ms`` (median, batch 1) and, for INT8, ``parent`` (the name of its FP32 model).
    The reference is the most accurate FP32 model. An INT8 artifact is eligible only if it is within
    ``max_drop_deg`` of both its FP32 parent and the reference, and faster than both (by at least
    ``min_speedup`` times); the fastest eligible one ships, else the reference does. Never an INT8 model
    that is slower or less accurate than the budget allows. ``metric`` names the MAE compared:
    ``mae`` (synthetic test) or ``mae_real`` (the real labelled set, where one is configured).
    """
    fp32 = [c for c in candidates if c["precision"] == "fp32"]
    if not fp32:
        raise ConfigError("choose_shipping needs at least one FP32 candidate to compare INT8 against")
    by_name = {c["name"]: c for c in candidates}
    reference = min(fp32, key=lambda c: c[metric])
    verdicts = []
    for c in candidates:
        if c["precision"] == "fp32":
            continue
        parent = by_name.get(c.get("parent"))
        if parent is None:
            raise ConfigError(
                f"INT8 candidate {c['name']!r} names no known FP32 parent ({c.get('parent')!r})"
            )
        verdicts.append(_verdict(c, parent, reference, max_drop_deg, min_speedup, metric))
    eligible = [v for v in verdicts if v["eligible"]]
    if eligible:
        ship = min(eligible, key=lambda v: v["latency_ms"])
        reason = (
            f"INT8 pays: {ship['name']} runs {reference['latency_ms'] / ship['latency_ms']:.2f}x faster than "
            f"{reference['name']} ({ship['latency_ms']:.3f} vs {reference['latency_ms']:.3f} ms) at MAE "
            f"{ship[metric]:.3f} vs {reference[metric]:.3f} deg (budget {max_drop_deg} deg)"
        )
    else:
        ship = reference
        why = "; ".join(f"{v['name']}: {' and '.join(v['reasons'])}" for v in verdicts) or "no INT8 candidate"
        reason = f"INT8 does not pay, shipping FP32 {reference['name']}: {why}"
    return {
        "ships": ship["name"],
        "precision": ship["precision"],
        "mae": ship["mae"],
        "mae_real": ship.get("mae_real"),
        "latency_ms": ship["latency_ms"],
        "reason": reason,
        "reference": reference["name"],
        "metric": metric,
        "max_drop_deg": max_drop_deg,
        "min_speedup": min_speedup,
        "int8_verdicts": verdicts,
    }
