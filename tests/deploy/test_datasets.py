"""ModelFilesDataset: a directory of model files replaced whole on save, read back as paths."""

import pytest

from kedro.io import DatasetError  # Kedro wraps our error, keeping its message

from headpose.deploy.datasets import ModelFilesDataset


def test_save_replaces_the_directory_and_load_lists_files_by_name(tmp_path):
    dataset = ModelFilesDataset(str(tmp_path / "onnx"), ".onnx")
    assert dataset.load() == {} and not dataset.exists()
    dataset.save({"teacher.onnx": b"a", "student.onnx": b"bb", "student.onnx.json": b"{}"})
    loaded = dataset.load()
    assert sorted(loaded) == ["student", "teacher"] and loaded["student"].read_bytes() == b"bb"
    dataset.save({"student.onnx": b"c"})  # a later configuration without the teacher
    assert sorted(dataset.load()) == ["student"] and not (tmp_path / "onnx" / "student.onnx.json").exists()


def test_names_must_stay_inside_the_directory(tmp_path):
    with pytest.raises(DatasetError, match="plain name"):
        ModelFilesDataset(str(tmp_path / "onnx"), ".onnx").save({"../evil.onnx": b"x"})
    assert not (tmp_path / "evil.onnx").exists()
