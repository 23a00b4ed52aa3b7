"""Kedro integration of the project: the context that types parameters, and hooks (kedro-mlflow's
register themselves through their entry point)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl

from headpose.parameters import parse_parameters, section_files

log = logging.getLogger(__name__)


class TypedParamsContext(KedroContext):
    """The project's Kedro context: ``params`` holds every section parsed once, by the config type
    headpose.parameters names for it, so nodes receive typed configs (``params:prune`` is a
    PruneConfig) and a bad block fails before the first node runs, naming the key and its file. The
    sections of conf/base are the known ones, so a new section starts there.

    Kedro's own validation (dataclass-annotated ``params:`` inputs built with ``cls(**raw)``) never
    runs: this property replaces the one that calls it, so each block is parsed exactly once.
    """

    @property
    def params(self) -> dict[str, Any]:
        if getattr(self, "_typed_params", None) is None:
            files = section_files(Path(self.config_loader.conf_source))
            self._typed_params = parse_parameters(self.config_loader["parameters"], files, files)
        return self._typed_params


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
