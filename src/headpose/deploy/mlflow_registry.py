"""MLflow Model Registry: register a candidate, promote it to ``champion`` only through the gates.

A candidate becomes ``champion`` only if its MAE <= the current champion's MAE + tolerance and its
latency <= the budget; otherwise it gets the ``challenger`` alias and the reason as a tag. The
champion alias moves only as the very last step, so a run that fails anywhere never demotes the
current champion. When the champion was measured on another version of the test data, it is
re-measured on the candidate's test data first, so the comparison is like for like.
"""

from __future__ import annotations

import logging
import math
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from headpose.config import Config, knob
from headpose.deploy.artifacts import ExportConfig
from headpose.errors import HeadposeError

log = logging.getLogger(__name__)

CHAMPION, CHALLENGER = "champion", "challenger"
TAG_KEYS = (
    "mae_synthetic",
    "mae_real",
    "p50_ms",
    "p99_ms",
    "macs",
    "params",
    "backend",
    "precision",
    "size_bytes",
)
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


@dataclass(frozen=True)
class RegisterConfig(Config, section="register"):
    """The ``register`` block: which model name, which gates, what lineage tags every version."""

    model_name: str = "headpose"
    gates: Gates = field(default_factory=Gates)
    remeasure_champion: bool = True  # re-measure the champion when its tags come from another data version
    data_version_path: str = "data/05_model_input/test"  # its DVC md5 tags every version
    lineage: dict[str, str] = knob({})  # tags data.<name>: the DVC md5 of each set the version came from


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


def current_champion(client, model_name: str):
    """The model version holding the ``champion`` alias, or None."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(model_name, CHAMPION)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise


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


@contextmanager
def _registry_lock() -> Iterator[None]:
    """An exclusive lock beside a local sqlite registry (one machine's processes); a server-backed
    registry is not locked here."""
    import fcntl

    import mlflow

    uri = mlflow.get_registry_uri() or mlflow.get_tracking_uri()
    if not uri.startswith("sqlite:///"):
        yield
        return
    with open(f"{uri[len('sqlite:///') :]}.register.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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


def register_candidate(
    row: dict[str, Any],
    onnx_path: str | Path,
    checkpoint,
    gates: Gates,
    data_version_tag: str,
    model_name: str = "headpose",
    remeasure=None,
    example_image=None,
    extra_tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Register ``row``'s ONNX (+ checkpoint) as a new version of ``model_name`` and set its alias.

    ``checkpoint`` is a headpose Checkpoint (logged as ``checkpoint.pt`` beside the ONNX) or None;
    ``extra_tags`` (e.g. :func:`lineage_tags`) join the version's tags.
    Returns a report: version, alias given, reason, the champion before and after.
    """
    import mlflow
    from mlflow import MlflowClient

    from headpose.deploy.pyfunc import log_pyfunc_model
    from headpose.training.checkpoint import save_checkpoint

    onnx_path = Path(onnx_path)
    if not onnx_path.is_file():
        raise HeadposeError(f"{onnx_path}: candidate ONNX not found; run `kedro run --pipelines export`")
    weights, other = checkpoint_mismatch(onnx_path, checkpoint)
    if other is not None:
        raise HeadposeError(
            f"{onnx_path}: exported from weights {weights[:12]}, but the checkpoint registered "
            f"with it has weights {other[:12]}; re-export it from that checkpoint"
        )
    client = MlflowClient()
    previous = current_champion(client, model_name)
    reference_mae, reference_source = champion_mae(previous, gates, data_version_tag, remeasure)
    promote, reason = promotion_decision(row, reference_mae, gates)

    started = mlflow.active_run() is None
    run = mlflow.start_run(run_name=f"register-{row['name']}") if started else mlflow.active_run()
    try:
        with tempfile.TemporaryDirectory(prefix="headpose-register-") as tmp:
            checkpoint_path = None
            if checkpoint is not None:
                checkpoint_path = Path(tmp) / "checkpoint.pt"
                save_checkpoint(checkpoint, checkpoint_path)
            info = log_pyfunc_model(
                onnx_path, checkpoint_path, registered_model_name=model_name, example_image=example_image
            )
    finally:
        if started:
            mlflow.end_run()
    version = int(info.registered_model_version)
    # Decide again and move the alias under a lock: another registration may have changed the
    # champion while this one was logging its model.
    with _registry_lock():
        current = current_champion(client, model_name)
        if (current and current.version) != (previous and previous.version):
            previous = current
            reference_mae, reference_source = champion_mae(previous, gates, data_version_tag, remeasure)
            promote, reason = promotion_decision(row, reference_mae, gates)
        tags = {key: row.get(key) for key in TAG_KEYS}
        tags.update(
            artifact=row["name"],
            data_version=data_version_tag,
            onnx_file=onnx_path.name,
            run_id=run.info.run_id,
            promotion=CHAMPION if promote else CHALLENGER,
            promotion_reason=reason,
            champion_reference=f"{reference_mae} ({reference_source})",
            weights_sha256=weights,
            **(extra_tags or {}),
        )
        for key, value in tags.items():
            client.set_model_version_tag(model_name, version, key, "None" if value is None else str(value))
        # Last step, so any failure above leaves the current champion in place.
        alias = CHAMPION if promote else CHALLENGER
        client.set_registered_model_alias(model_name, alias, version)
    log.info("registered %s version %s as %s: %s", model_name, version, alias, reason)
    return {
        "model_name": model_name,
        "version": version,
        "alias": alias,
        "promoted": promote,
        "reason": reason,
        "candidate": row["name"],
        "data_version": data_version_tag,
        "previous_champion": None if previous is None else previous.version,
        "champion": version if promote else (None if previous is None else previous.version),
        "champion_reference_mae": reference_mae,
        "champion_reference": reference_source,
    }


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
