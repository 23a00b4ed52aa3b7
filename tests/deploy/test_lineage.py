"""Lineage tags: DVC's hash of each data set as it lies on disk, else git, else unknown."""

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from headpose.deploy.lineage import data_version, dvc_md5, lineage_tags

DVC = str(Path(sys.executable).parent / "dvc")


def _write_set(folder: Path, content: bytes = b"faces") -> None:
    (folder / "sub").mkdir(parents=True)
    (folder / "images.npy").write_bytes(content)
    (folder / "sub" / "labels.parquet").write_bytes(b"labels")


def test_hashes_equal_what_dvc_records_in_its_lock(tmp_path):
    project = tmp_path / "project"
    _write_set(project / "data" / "train")
    (project / "dvc.yaml").write_text("stages:\n  make:\n    cmd: echo\n    outs: [data/train]\n")
    env = {"DVC_NO_ANALYTICS": "1", "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run([DVC, "init", "-q"], cwd=project, check=True, env=env)
    subprocess.run([DVC, "commit", "-f", "-q"], cwd=project, check=True, env=env)
    (out,) = yaml.safe_load((project / "dvc.lock").read_text())["stages"]["make"]["outs"]
    assert dvc_md5(project / "data" / "train") == out["md5"] and out["md5"].endswith(".dir")


def test_a_changed_file_changes_the_hash_and_links_are_followed(tmp_path):
    _write_set(tmp_path / "a")
    _write_set(tmp_path / "b", b"other faces")
    (tmp_path / "pools").mkdir()
    (tmp_path / "pools" / "a").symlink_to(tmp_path / "a")
    assert dvc_md5(tmp_path / "a") != dvc_md5(tmp_path / "b")
    copy = tmp_path / "copy"
    shutil.copytree(tmp_path / "a", copy / "a")
    assert dvc_md5(tmp_path / "pools") == dvc_md5(copy)
    assert dvc_md5(tmp_path / "missing") is None


def test_data_version_and_tags_name_each_set(tmp_path):
    assert data_version(tmp_path) == "unknown"
    _write_set(tmp_path / "data" / "05_model_input" / "test")
    assert data_version(tmp_path) == f"dvc:{dvc_md5(tmp_path / 'data' / '05_model_input' / 'test')}"
    tags = lineage_tags(
        tmp_path, {"test": "data/05_model_input/test", "real_test": "data/05_model_input/real_test"}
    )
    assert tags == {
        "data.test": data_version(tmp_path),
        "data.real_test": "data/05_model_input/real_test: absent",
        "git_commit": "unknown",
    }
