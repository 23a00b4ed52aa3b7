"""Loading a model reference as a predictor, and what its metadata says."""

import numpy as np
import pytest

from headpose.cli import main
from headpose.deploy.model_refs import PRETRAINED_ONNX
from headpose.deploy.runtime import load_model, load_predictor, model_info
from headpose.errors import HeadposeError, ModelError


def test_the_packaged_pretrained_model(capsys):
    if not PRETRAINED_ONNX.is_file():
        pytest.skip(f"{PRETRAINED_ONNX} is not installed yet")
    model = load_model("pretrained")
    assert model.backend == "onnxruntime" and model.input_size >= 32
    out = model.predict(np.zeros((2, 3, model.input_size, model.input_size), np.float32))
    assert out.shape == (2, 3) and np.isfinite(out).all()
    info = model_info("pretrained")
    assert info["angle_order"] == "yaw, pitch, roll" and info["input_size"] == model.input_size
    assert info["training_data"] != "not recorded" and info.get("notice", "").endswith("NOTICE.md")
    assert main(["benchmark", "--repeats", "2", "--seconds", "0.02"]) == 0


def test_a_model_file_that_is_not_a_model_names_the_file(tmp_path):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"\0garbage")
    with pytest.raises(ModelError, match="broken.onnx: not a loadable ONNX model"):
        load_model(str(bad))
    with pytest.raises(ModelError, match="unsupported model file"):
        load_model(str(bad.rename(tmp_path / "broken.bin")))


def test_model_loading_errors_are_clear(tmp_path, tiny_artifacts):
    with pytest.raises(ModelError, match="not found"):
        load_predictor(str(tmp_path / "missing.onnx"))
    engine = tmp_path / "model.engine"
    engine.write_bytes(b"\0" * 16)
    with pytest.raises(HeadposeError, match="TensorRT|tensorrt"):
        load_predictor(str(engine))
    with pytest.raises(ModelError, match="cuda"):
        load_predictor(str(tiny_artifacts.onnx_path), device="cuda")
