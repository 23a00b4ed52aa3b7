"""Lineage tags: the DVC md5 of each data set from dvc.lock, else git, else unknown."""

from headpose.deploy.lineage import data_version, lineage_tags


def test_data_version_comes_from_dvc_lock_else_git_else_unknown(tmp_path):
    assert data_version(tmp_path) == "unknown"
    (tmp_path / "dvc.lock").write_text(
        "schema: '2.0'\nstages:\n  data:\n    cmd: kedro run --pipelines data\n    outs:\n"
        "    - path: data/05_model_input/train\n      md5: aaa.dir\n"
        "    - path: data/05_model_input/test\n      md5: 3f2c.dir\n")
    assert data_version(tmp_path) == "dvc:3f2c.dir"
    tags = lineage_tags(tmp_path, {"train": "data/05_model_input/train", "real_test": "data/05_model_input/real_test"})
    assert tags == {"data.train": "dvc:aaa.dir", "data.real_test": "data/05_model_input/real_test: not in dvc.lock",
                    "git_commit": "unknown"}
