"""DVC reproduces the data stage, skips it when nothing changed, and round-trips it through a remote."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DVC = str(Path(os.sys.executable).with_name("dvc"))


def _run(args: list[str], cwd: Path, env: dict) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


@pytest.mark.slow
def test_dvc_repro_skips_unchanged_stages_and_push_pull_restores_outputs(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    for name in ("pyproject.toml", "dvc.yaml", ".gitignore"):
        shutil.copy(REPO / name, project / name)
    for name in ("conf", "src", ".dvc"):
        shutil.copytree(
            REPO / name, project / name, ignore=shutil.ignore_patterns("local", "__pycache__", "cache", "tmp")
        )
    for keep in REPO.glob("data/**/.gitkeep"):  # the data layout a clone has
        (project / keep.relative_to(REPO)).parent.mkdir(parents=True, exist_ok=True)
        (project / keep.relative_to(REPO)).touch()
    (project / "conf" / "local").mkdir()
    env = {
        **os.environ,
        "KEDRO_ENV": "test",  # the tiny profile
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlruns.db'}",
        "DVC_NO_ANALYTICS": "1",
        "PATH": f"{Path(os.sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    _run(["git", "init", "-q"], project, env)
    _run([DVC, "remote", "add", "-f", "-d", "local", str(tmp_path / "remote")], project, env)

    _run([DVC, "repro", "data"], project, env)
    train = project / "data" / "05_model_input" / "train" / "images.npy"
    assert train.is_file()
    assert "didn't change" in _run([DVC, "repro", "data"], project, env)

    _run([DVC, "push", "data"], project, env)
    original = train.read_bytes()
    shutil.rmtree(project / "data" / "05_model_input" / "train")
    _run([DVC, "pull", "data"], project, env)
    assert train.read_bytes() == original

    # Parameters are declared per stage (dvc.lock records their values): a changed knob marks its stage.
    params = project / "conf" / "base" / "parameters_data.yml"
    params.write_text(params.read_text().replace("  seed: 7\n", "  seed: 8\n", 1))
    status = _run([DVC, "status", "data"], project, env)
    assert "parameters_data.yml" in status and "modified:           split" in status
