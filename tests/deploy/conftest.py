"""Tiny real artifacts shared by the deploy tests: a checkpoint and its ONNX export (made once)."""

import shutil
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient

from headpose.data.faceset import FaceSet
from headpose.deploy.onnx_export import export_onnx
from headpose.models import create_model
from headpose.training.checkpoint import Checkpoint, save_checkpoint
from tests.conftest import make_faceset

INPUT_SIZE = 32


@dataclass
class TinyArtifacts:
    checkpoint: Checkpoint
    checkpoint_path: Path
    onnx_path: Path
    test: FaceSet


@pytest.fixture(scope="session")
def tiny_artifacts(tmp_path_factory) -> TinyArtifacts:
    root = tmp_path_factory.mktemp("tiny_artifacts")
    model = create_model("hopenet", backbone="mobilenet_relu", width_mult=0.25).eval()
    checkpoint = Checkpoint(model, {"input_size": INPUT_SIZE})
    save_checkpoint(checkpoint, root / "tiny.pt")
    export_onnx(model, INPUT_SIZE, root / "tiny.onnx")
    return TinyArtifacts(checkpoint, root / "tiny.pt", root / "tiny.onnx", make_faceset(n=24, size=48))


@pytest.fixture(scope="session")
def empty_mlflow_db(tmp_path_factory) -> Path:
    """A freshly migrated MLflow sqlite database (migrating takes seconds; copying it does not)."""
    path = tmp_path_factory.mktemp("mlflow_template") / "mlruns.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def mlflow_registry(tmp_path, monkeypatch, empty_mlflow_db):
    """A real MLflow tracking store + model registry (sqlite) with artifacts under tmp_path."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(empty_mlflow_db, tmp_path / "mlruns.db")
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("headpose-test")
    yield uri
    mlflow.set_tracking_uri(previous)
