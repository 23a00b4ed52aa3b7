"""The promotion gates: whether a candidate may take the ``champion`` alias from the current one.

A candidate becomes ``champion`` only if its MAE <= the current champion's MAE + tolerance and its
latency <= the budget; otherwise it gets the ``challenger`` alias and the reason as a tag. When the
champion was measured on another version of the test data, it is re-measured on the candidate's
test data first, so the comparison is like for like.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from headpose.config import Config, knob

CHAMPION, CHALLENGER = "champion", "challenger"
MAE_METRICS = ("mae_synthetic", "mae_real", "auto")


@dataclass(frozen=True)
class Gates(Config, section="register.gates"):
    mae_tolerance_deg: float = knob(0.0, lo=0.0)  # candidate MAE may exceed the champion's by this much
    latency_budget_ms: float = knob(5.0, lo=0.0)  # candidate ``latency_metric`` must not exceed this
    latency_metric: str = "p50_ms"
    mae_metric: str = knob("mae_synthetic", choices=MAE_METRICS)  # auto: mae_real where the candidate has it

    def check(self) -> None:
        if not self.latency_budget_ms > 0:
            raise self.problem("latency_budget_ms", f"must be > 0, got {self.latency_budget_ms}")

    def for_candidate(self, row: dict[str, Any]) -> Gates:
        """``auto`` resolved: the real labelled set's MAE when the candidate was measured on one."""
        if self.mae_metric != "auto":
            return self
        return replace(self, mae_metric="mae_real" if row.get("mae_real") is not None else "mae_synthetic")


def promotion_decision(
    candidate: dict[str, Any], champion_mae: float | None, gates: Gates
) -> tuple[bool, str]:
    """(promote?, why) for a benchmark row against the current champion's MAE (None: no champion)."""
    mae, latency = candidate.get(gates.mae_metric), candidate.get(gates.latency_metric)
    if mae is None or latency is None:
        return (
            False,
            f"candidate {candidate.get('name')} has no measured {gates.mae_metric}/{gates.latency_metric}",
        )
    if not (math.isfinite(mae) and math.isfinite(latency)):  # NaN compares false and would pass every gate
        return False, (
            f"candidate {candidate.get('name')} has a non-finite {gates.mae_metric} {mae} "
            f"or {gates.latency_metric} {latency}"
        )
    if champion_mae is not None and not math.isfinite(champion_mae):
        champion_mae = None  # a NaN champion tag sets no bar: judge the candidate on its own
    if latency > gates.latency_budget_ms:
        return False, (
            f"{gates.latency_metric} {latency:.3f} ms exceeds the latency budget "
            f"{gates.latency_budget_ms:.3f} ms"
        )
    if champion_mae is None:
        return True, (
            f"no current champion; {gates.mae_metric} {mae:.3f} deg, "
            f"{gates.latency_metric} {latency:.3f} ms within budget"
        )
    if mae > champion_mae + gates.mae_tolerance_deg:
        return False, (
            f"{gates.mae_metric} {mae:.3f} deg is worse than the champion's {champion_mae:.3f} deg "
            f"+ tolerance {gates.mae_tolerance_deg:.3f} deg"
        )
    return True, (
        f"{gates.mae_metric} {mae:.3f} deg <= champion's {champion_mae:.3f} "
        f"+ {gates.mae_tolerance_deg:.3f} deg and {gates.latency_metric} {latency:.3f} ms "
        f"<= {gates.latency_budget_ms:.3f} ms"
    )


def champion_mae(version, gates: Gates, current_data_version: str, remeasure) -> tuple[float | None, str]:
    """The champion's MAE comparable with the candidate's, and where it came from.

    ``remeasure(model_uri) -> float`` evaluates a registered model on the candidate's test data; it is
    used when the champion's recorded MAE comes from another data version (or is missing).
    """
    if version is None:
        return None, "none"
    recorded = version.tags.get(gates.mae_metric)
    if recorded not in (None, "", "None") and version.tags.get("data_version") == current_data_version:
        return float(recorded), f"tag of version {version.version}"
    if remeasure is None:
        if recorded in (None, "", "None"):
            return None, f"version {version.version} has no {gates.mae_metric} tag"
        return float(
            recorded
        ), f"tag of version {version.version} (data version {version.tags.get('data_version')})"
    value = remeasure(f"models:/{version.name}/{version.version}")
    return value, f"re-measured version {version.version} on data {current_data_version}"


@dataclass(frozen=True)
class Verdict:
    """A candidate judged against a champion: the bar it was held to, where that came from, the
    decision and why."""

    champion: Any  # the champion's MLflow model version, or None
    reference_mae: float | None
    reference_source: str
    promote: bool
    reason: str

    @property
    def alias(self) -> str:
        return CHAMPION if self.promote else CHALLENGER


def judge(candidate: dict[str, Any], champion, gates: Gates, data_version: str, remeasure) -> Verdict:
    """``candidate``'s benchmark row against ``champion`` (a model version or None), whose MAE is
    made comparable first (:func:`champion_mae`)."""
    reference_mae, reference_source = champion_mae(champion, gates, data_version, remeasure)
    promote, reason = promotion_decision(candidate, reference_mae, gates)
    return Verdict(champion, reference_mae, reference_source, promote, reason)
