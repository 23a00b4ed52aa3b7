"""Kedro hooks of the project (kedro-mlflow's register themselves through their entry point)."""

from __future__ import annotations

import logging
from pathlib import Path

import yaml
from kedro.framework.hooks import hook_impl

from headpose.parameters import check_parameters

log = logging.getLogger(__name__)


def _section_files(conf: Path) -> dict[str, str]:
    """Section -> the base parameters file that defines it (parameters_<stage>.yml)."""
    files = {}
    for path in sorted((conf / "base").glob("parameters*.yml")):
        for key in yaml.safe_load(path.read_text()) or {}:
            files[key] = f"conf/<env>/{path.name}"
    return files


class ParameterChecks:
    """Every parameter block is checked before the first node runs (headpose.parameters); the
    sections of conf/base are the known ones, so a new section starts there."""

    @hook_impl
    def after_context_created(self, context) -> None:
        files = _section_files(Path(context.project_path) / "conf")
        check_parameters(context.params, files, files)


class KilledRunCleanup:
    """The MLflow run of each ``kedro run`` records its process; runs left RUNNING by a killed
    process on this host are ended as KILLED when the next run starts (headpose.deploy.run_liveness)."""

    def __init__(self) -> None:
        self._tagged: set[str] = set()

    @hook_impl
    def before_node_run(self) -> None:  # by the first node, kedro-mlflow's run is active
        import mlflow

        from headpose.deploy.run_liveness import end_dead_runs, tag_owner

        run = mlflow.active_run()
        if run is None or run.info.run_id in self._tagged:
            return
        client = mlflow.MlflowClient()
        for run_id in end_dead_runs(client, [run.info.experiment_id]):
            log.warning("MLflow run %s was left RUNNING by a killed process: ended as KILLED", run_id)
        tag_owner(client, run.info.run_id)
        self._tagged.add(run.info.run_id)
