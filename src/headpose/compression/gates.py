"""Accuracy gates: a compression step may lose at most ``max_drop_deg`` of MAE against its parent.

A step is gated on every set both models were measured on: the synthetic test split (``mae``) and,
when a real labelled set is configured, the real one (``mae_real``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from headpose.errors import ConfigError, GateError


def gate_record(
    step: str, parent_mae: float, mae: float, max_drop_deg: float, dataset: str = "test"
) -> dict[str, Any]:
    """The comparison as plain data: ``drop_deg`` > 0 means the child is worse than its parent."""
    if not isinstance(max_drop_deg, (int, float)) or max_drop_deg < 0:
        raise ConfigError(f"{step}.max_drop_deg must be a number >= 0, got {max_drop_deg!r}")
    drop = float(mae) - float(parent_mae)
    passed = math.isfinite(drop) and drop <= max_drop_deg
    return {
        "step": step,
        "dataset": dataset,
        "parent_mae": float(parent_mae),
        "mae": float(mae),
        "drop_deg": drop,
        "max_drop_deg": float(max_drop_deg),
        "passed": bool(passed),
    }


def check_drop(
    step: str, parent_mae: float, mae: float, max_drop_deg: float, dataset: str = "test"
) -> dict[str, Any]:
    """:func:`gate_record`, raising GateError (step, both MAEs, drop, budget) when the gate fails."""
    record = gate_record(step, parent_mae, mae, max_drop_deg, dataset)
    if not record["passed"]:
        raise GateError(
            f"{step}: MAE {record['mae']:.3f} deg vs parent {record['parent_mae']:.3f} deg "
            f"on the {dataset} set: "
            f"drop {record['drop_deg']:.3f} deg exceeds max_drop_deg {record['max_drop_deg']:.3f}; "
            f"train/fine-tune longer, compress less, or raise {step}.max_drop_deg"
        )
    return record


# Row key of each gated set's MAE -> the set's name in gate records and messages.
GATED_SETS = {"mae": "test", "mae_real": "real"}


def check_drops(
    step: str, parent: Mapping[str, Any], child: Mapping[str, Any], max_drop_deg: float
) -> list[dict[str, Any]]:
    """:func:`check_drop` on every set in :data:`GATED_SETS` that both rows measured (``None``: not)."""
    return [
        check_drop(step, parent[key], child[key], max_drop_deg, dataset)
        for key, dataset in GATED_SETS.items()
        if parent.get(key) is not None and child.get(key) is not None
    ]
