"""MLflow Model Registry: register a candidate as a new version, promoted to ``champion`` only through
the gates (:mod:`headpose.deploy.promotion`).

The champion alias moves only as the very last step, so a run that fails anywhere never demotes the
current champion.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from headpose.config import Config, knob
from headpose.deploy.candidate import checkpoint_mismatch
from headpose.deploy.promotion import CHAMPION, Gates, Verdict, judge
from headpose.errors import HeadposeError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RegisterConfig(Config, section="register"):
    """The ``register`` block: which model name, which gates, what lineage tags every version."""

    model_name: str = "headpose"
    gates: Gates = field(default_factory=Gates)
    remeasure_champion: bool = True  # re-measure the champion when its tags come from another data version
    data_version_path: str = "data/05_model_input/test"  # its DVC md5 tags every version
    lineage: dict[str, str] = knob({})  # tags data.<name>: the DVC md5 of each set the version came from


# The benchmark figures copied into every registered version's tags.
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


def current_champion(client, model_name: str):
    """The model version holding the ``champion`` alias, or None."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(model_name, CHAMPION)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise


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
    from mlflow import MlflowClient

    onnx_path = Path(onnx_path)
    weights = _checked_weights(onnx_path, checkpoint)
    client = MlflowClient()
    verdict = judge(row, current_champion(client, model_name), gates, data_version_tag, remeasure)
    version, run_id = _log_version(row["name"], onnx_path, checkpoint, model_name, example_image)
    # Decide again and move the alias under a lock: another registration may have changed the
    # champion while this one was logging its model.
    with _registry_lock():
        champion = current_champion(client, model_name)
        if _version_number(champion) != _version_number(verdict.champion):
            verdict = judge(row, champion, gates, data_version_tag, remeasure)
        tags = _version_tags(row, verdict, data_version_tag, onnx_path.name, run_id, weights, extra_tags)
        for key, value in tags.items():
            client.set_model_version_tag(model_name, version, key, value)
        # Last step, so any failure above leaves the current champion in place.
        client.set_registered_model_alias(model_name, verdict.alias, version)
    log.info("registered %s version %s as %s: %s", model_name, version, verdict.alias, verdict.reason)
    return _report(row["name"], model_name, version, verdict, data_version_tag)


def _checked_weights(onnx_path: Path, checkpoint) -> str:
    """The weights digest ``onnx_path`` records; refuses a missing ONNX, or a checkpoint that does
    not hold the weights it was exported from."""
    if not onnx_path.is_file():
        raise HeadposeError(f"{onnx_path}: candidate ONNX not found; run `kedro run --pipelines export`")
    weights, other = checkpoint_mismatch(onnx_path, checkpoint)
    if other is not None:
        raise HeadposeError(
            f"{onnx_path}: exported from weights {weights[:12]}, but the checkpoint registered "
            f"with it has weights {other[:12]}; re-export it from that checkpoint"
        )
    return weights


def _log_version(name: str, onnx_path: Path, checkpoint, model_name: str, example_image) -> tuple[int, str]:
    """Log the pyfunc model (the checkpoint beside the ONNX) as a new version of ``model_name``, in
    the active MLflow run or one of its own: (version, run id)."""
    import mlflow

    from headpose.deploy.pyfunc import log_pyfunc_model
    from headpose.training.checkpoint import save_checkpoint

    started = mlflow.active_run() is None
    run = mlflow.start_run(run_name=f"register-{name}") if started else mlflow.active_run()
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
    return int(info.registered_model_version), run.info.run_id


def _version_tags(
    row: dict[str, Any],
    verdict: Verdict,
    data_version_tag: str,
    onnx_file: str,
    run_id: str,
    weights: str,
    extra_tags: dict[str, str] | None,
) -> dict[str, str]:
    """The tags of a registered version: its benchmark figures, lineage and promotion verdict."""
    tags = {key: row.get(key) for key in TAG_KEYS}
    tags.update(
        artifact=row["name"],
        data_version=data_version_tag,
        onnx_file=onnx_file,
        run_id=run_id,
        promotion=verdict.alias,
        promotion_reason=verdict.reason,
        champion_reference=f"{verdict.reference_mae} ({verdict.reference_source})",
        weights_sha256=weights,
        **(extra_tags or {}),
    )
    return {key: "None" if value is None else str(value) for key, value in tags.items()}


def _report(
    name: str, model_name: str, version: int, verdict: Verdict, data_version_tag: str
) -> dict[str, Any]:
    """What :func:`register_candidate` returns: the version, its alias and why, the champion
    before and after."""
    previous = _version_number(verdict.champion)
    return {
        "model_name": model_name,
        "version": version,
        "alias": verdict.alias,
        "promoted": verdict.promote,
        "reason": verdict.reason,
        "candidate": name,
        "data_version": data_version_tag,
        "previous_champion": previous,
        "champion": version if verdict.promote else previous,
        "champion_reference_mae": verdict.reference_mae,
        "champion_reference": verdict.reference_source,
    }


def _version_number(version) -> str | None:
    """An MLflow model version's number, None for no version."""
    return None if version is None else version.version


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
