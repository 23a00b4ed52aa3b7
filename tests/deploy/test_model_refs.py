"""Model references: the packaged ``pretrained`` model, and ``models:/`` through the project's MLflow conf."""

import json
from pathlib import Path

import cv2
import mlflow
import numpy as np
import pytest

import headpose.deploy.model_refs as model_refs
from headpose.cli import main
from headpose.data.preprocess import to_model_input
from headpose.deploy.mlflow_registry import register_candidate
from headpose.deploy.model_refs import find_project_root, mlflow_uris, resolve_model_uri
from headpose.deploy.promotion import Gates
from headpose.deploy.runtime import load_model, model_info
from headpose.errors import ConfigError, ModelError

GATES = Gates(mae_tolerance_deg=0.1, latency_budget_ms=5.0)
ROW = {
    "name": "a",
    "backend": "onnxruntime",
    "precision": "fp32",
    "mae_synthetic": 5.0,
    "mae_real": None,
    "p50_ms": 1.0,
    "p99_ms": 1.5,
    "macs": 1000,
    "params": 100,
    "size_bytes": 10,
    "skipped": None,
    "source": "tiny_pytorch",
}
MLFLOW_YML = """server:
  mlflow_tracking_uri: ${env:MLFLOW_TRACKING_URI,sqlite:///mlruns.db}
  mlflow_registry_uri: null
"""


def make_project(root: Path, mlflow_yml: str = MLFLOW_YML) -> Path:
    (root / "conf" / "base").mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (root / "conf" / "base" / "mlflow.yml").write_text(mlflow_yml)
    return root


def stray_stores(*folders: Path) -> set[Path]:
    return {
        p
        for folder in folders
        for pattern in ("mlflow.db", "mlruns", "mlruns.db", "mlartifacts")
        for p in folder.rglob(pattern)
    }


@pytest.fixture
def registered(mlflow_registry, tiny_artifacts, tmp_path, monkeypatch):
    """tmp_path: a project whose conf/base/mlflow.yml names the sqlite registry tmp_path/mlruns.db, which
    holds one champion; MLFLOW_TRACKING_URI unset, working directory two folders below the root."""
    register_candidate(ROW, tiny_artifacts.onnx_path, tiny_artifacts.checkpoint, GATES, "dvc:1")
    make_project(tmp_path)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'elsewhere' / 'wrong.db'}")  # must not be used
    monkeypatch.delenv("MLFLOW_TRACKING_URI")  # set_tracking_uri also sets it
    work = tmp_path / "notebooks" / "deep"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    return tmp_path


def test_models_uri_resolves_through_the_project_config_without_stray_stores(registered, tiny_artifacts):
    before = stray_stores(registered)
    assert find_project_root() == registered
    tracking, registry, where = mlflow_uris()
    assert tracking == f"sqlite:///{registered / 'mlruns.db'}" and registry is None
    assert where.endswith("conf/base/mlflow.yml")
    local = resolve_model_uri("models:/headpose@champion")
    assert local.read_bytes() == tiny_artifacts.onnx_path.read_bytes()
    assert resolve_model_uri("models:/headpose@champion", prefer=".pt").name == "checkpoint.pt"
    info = model_info("models:/headpose@champion")
    assert info["input_size"] == 32 and info["checkpoint"].endswith("checkpoint.pt")
    assert stray_stores(registered) == before and not (registered / "elsewhere").exists()


def test_cli_commands_read_the_registry_from_the_config(registered, capsys):
    assert (
        main(["benchmark", "--model", "models:/headpose@champion", "--repeats", "2", "--seconds", "0.02"])
        == 0
    )
    assert json.loads(capsys.readouterr().out)["input_size"] == 32
    assert main(["info", "--model", "models:/headpose@champion"]) == 0
    assert "yaw, pitch, roll" in capsys.readouterr().out


def test_api_takes_a_registry_uri(registered, tiny_artifacts):
    from headpose import HeadPose

    hp = HeadPose("models:/headpose@champion")
    crops = tiny_artifacts.test.images[:3]
    expected = load_model(str(tiny_artifacts.onnx_path)).predict(to_model_input(crops, 32))
    np.testing.assert_allclose(hp.predict_crops(crops), expected, atol=1e-5)


@pytest.mark.parametrize("ref", ["models:/headpose@nope", "models:/missing@champion", "models:/headpose/7"])
def test_a_missing_model_or_alias_is_a_one_line_error_and_exit_2(registered, capsys, ref):
    before = stray_stores(registered)
    with pytest.raises(ModelError, match="not found in the MLflow registry"):
        resolve_model_uri(ref)
    assert main(["info", "--model", ref]) == 2
    err = capsys.readouterr().err
    (line,) = err.strip().splitlines()
    assert line.startswith("headpose info: error: ") and ref in line
    assert stray_stores(registered) == before and not (registered / "elsewhere").exists()


def test_a_registry_database_that_does_not_exist_is_not_created(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    make_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["benchmark", "--model", "models:/headpose@champion"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert stray_stores(tmp_path) == set()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'other.db'}")  # the environment wins
    with pytest.raises(ModelError, match="MLFLOW_TRACKING_URI"):
        resolve_model_uri("models:/headpose@champion")
    assert not (tmp_path / "other.db").exists() and stray_stores(tmp_path) == set()


def test_outside_a_project_models_uris_need_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    if find_project_root() is not None:
        pytest.skip("the temporary folder lies inside a project")
    with pytest.raises(ConfigError, match="MLFLOW_TRACKING_URI"):
        resolve_model_uri("models:/headpose@champion")
    assert stray_stores(tmp_path) == set()


def test_config_interpolation_local_override_and_relative_paths(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MY_STORE", raising=False)
    make_project(tmp_path, "server:\n  mlflow_tracking_uri: ${env:MY_STORE, 'sqlite:///db/store.db'}\n")
    assert mlflow_uris(tmp_path)[0] == f"sqlite:///{tmp_path / 'db' / 'store.db'}"
    monkeypatch.setenv("MY_STORE", "mlruns")
    assert mlflow_uris(tmp_path)[0] == (tmp_path / "mlruns").as_uri()
    (tmp_path / "conf" / "local").mkdir()
    (tmp_path / "conf" / "local" / "mlflow.yml").write_text(
        "server:\n  mlflow_tracking_uri: http://tracking:5000\n  mlflow_registry_uri: sqlite:////abs/reg.db\n"
    )
    assert mlflow_uris(tmp_path)[:2] == ("http://tracking:5000", "sqlite:////abs/reg.db")
    make_project(tmp_path / "p2", "server:\n  mlflow_tracking_uri: ${env:UNSET_FOR_TEST}\n")
    with pytest.raises(ConfigError, match="UNSET_FOR_TEST"):
        mlflow_uris(tmp_path / "p2")


def test_pretrained_missing_is_a_clear_one_line_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(model_refs, "PRETRAINED_ONNX", tmp_path / "headpose.onnx")
    monkeypatch.setattr(model_refs, "PRETRAINED_CHECKPOINT", tmp_path / "headpose.pt")
    with pytest.raises(ModelError, match="the pretrained model is not installed: "):
        resolve_model_uri("pretrained")
    image = tmp_path / "face.png"
    cv2.imwrite(str(image), np.full((64, 64, 3), 100, np.uint8))
    for argv in (
        ["benchmark"],
        ["info"],
        ["predict", str(image)],
        ["export", "--out", str(tmp_path / "x.onnx")],
    ):
        assert main(argv) == 2
        assert "the pretrained model is not installed" in capsys.readouterr().err


def test_a_reference_that_is_no_model_file_says_what_to_pass(tmp_path):
    with pytest.raises(ModelError, match="did you mean 'pretrained'"):
        resolve_model_uri("pretrianed")
    with pytest.raises(ModelError, match="is a folder"):
        resolve_model_uri(str(tmp_path))
