"""The project's Kedro datasets: model-file directories replaced whole, ONNX files saved checked."""

import onnx
import pytest
from kedro.io import DatasetError  # Kedro wraps our error, keeping its message
from onnx import TensorProto, helper

from headpose.datasets import ModelFilesDataset, OnnxModelDataset


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


def _identity_onnx() -> onnx.ModelProto:
    x = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3])
    y = helper.make_tensor_value_info("angles", TensorProto.FLOAT, ["batch", 3])
    graph = helper.make_graph([helper.make_node("Identity", ["image"], ["angles"])], "identity", [x], [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_onnx_dataset_round_trips_and_names_a_missing_file(tmp_path):
    dataset = OnnxModelDataset(str(tmp_path / "sub" / "copy.onnx"))
    assert not dataset.exists()
    with pytest.raises(DatasetError, match="copy.onnx: ONNX model not found"):
        dataset.load()
    dataset.save(_identity_onnx())
    assert dataset.exists()
    written = (tmp_path / "sub" / "copy.onnx").read_bytes()
    assert dataset.load().graph.input[0].name == "image"
    with pytest.raises(DatasetError, match="invalid ONNX model"):
        dataset.save(onnx.ModelProto())  # refused before anything is written: the valid file stays
    assert (tmp_path / "sub" / "copy.onnx").read_bytes() == written
