"""Run real Kedro pipelines on tiny data in a throw-away copy of the project."""

import os
import shutil
from pathlib import Path

import mlflow
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def kedro_project(tmp_path_factory):
    """A project directory with the repo's conf/ and pyproject.toml, its own data/ and MLflow store."""
    root = tmp_path_factory.mktemp("project")
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(REPO / "conf", root / "conf", ignore=shutil.ignore_patterns("local"))
    (root / "conf" / "local").mkdir()
    (root / "src").mkdir()  # Kedro insists on source_dir; the package itself is installed
    old_cwd, old_uri = Path.cwd(), os.environ.get("MLFLOW_TRACKING_URI")
    os.chdir(root)
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{root / 'mlruns.db'}"
    bootstrap_project(root)
    yield root
    os.chdir(old_cwd)
    if old_uri is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = old_uri


@pytest.fixture(scope="session")
def run_pipeline(kedro_project):
    def run(name: str, params: dict | None = None) -> None:
        # kedro-mlflow leaves a session's run active in this process; a later session would log
        # into it (and refuse changed params), so each pipeline gets its own run as under `kedro run`.
        while mlflow.active_run():
            mlflow.end_run()
        with KedroSession.create(
            project_path=kedro_project, env="test", runtime_params=params or {}
        ) as session:
            session.run(pipeline_names=[name])

    return run
