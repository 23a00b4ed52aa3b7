"""TensorRT build: the skip path, the metadata check that refuses foreign/stale engines, and (where
TensorRT and a CUDA GPU exist) a real FP16 build that runs and matches ONNX Runtime."""

import importlib.util
import json

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper

from headpose.deploy.tensorrt_build import (
    BuildSettings,
    EngineMismatchError,
    build_or_skip,
    check_engine_metadata,
    metadata_path,
    tensorrt_unavailable_reason,
    write_engine_metadata,
)
from headpose.errors import ConfigError

HAVE_TENSORRT = importlib.util.find_spec("tensorrt") is not None and torch.cuda.is_available()
BUILT_ON = {"gpu_name": "NVIDIA A100-SXM4-40GB", "compute_capability": "8.0", "tensorrt_version": "10.3.0"}


def scale_onnx(path, factor: float) -> None:
    """A real (tiny) ONNX graph with a dynamic batch: angles = mean over pixels of x * factor."""
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 8, 8])
    y = helper.make_tensor_value_info("angles", TensorProto.FLOAT, ["batch", 3])
    scale = helper.make_tensor("scale", TensorProto.FLOAT, [1], [factor])
    nodes = [
        helper.make_node("Mul", ["input", "scale"], ["scaled"]),
        helper.make_node("ReduceMean", ["scaled"], ["angles"], axes=[2, 3], keepdims=0),
    ]
    model = helper.make_model(
        helper.make_graph(nodes, "scale", [x], [y], [scale]), opset_imports=[helper.make_opsetid("", 17)]
    )
    onnx.checker.check_model(model)
    onnx.save(model, path)


@pytest.fixture
def onnx_file(tmp_path):
    path = tmp_path / "model.onnx"
    scale_onnx(path, 2.0)
    return path


@pytest.fixture
def engine_with_metadata(tmp_path, onnx_file):
    """Metadata as the build writes it; the engine bytes are never deserialised by the check."""
    engine = tmp_path / "model_fp16.engine"
    engine.write_bytes(b"placeholder: check_engine_metadata refuses before TensorRT reads the engine")
    write_engine_metadata(engine, onnx_file, "fp16", BuildSettings(), BUILT_ON)
    return engine


@pytest.mark.skipif(
    HAVE_TENSORRT, reason="TensorRT and a CUDA GPU are present: the real build test runs instead"
)
def test_build_without_tensorrt_or_gpu_records_the_reason_and_writes_no_engine(tmp_path, onnx_file):
    engine = tmp_path / "model_fp16.engine"
    result = build_or_skip(onnx_file, engine, "fp16", BuildSettings())
    assert result["status"] == "skipped"
    assert result["reason"] == tensorrt_unavailable_reason()
    assert "TensorRT is not installed" in result["reason"] or "no CUDA GPU" in result["reason"]
    assert not engine.exists() and not metadata_path(engine).exists()
    json.dumps(result)  # the node output is logged to MLflow as JSON


def test_metadata_records_what_the_engine_is_bound_to(engine_with_metadata, onnx_file):
    meta = json.loads(metadata_path(engine_with_metadata).read_text())
    assert {k: meta[k] for k in BUILT_ON} == BUILT_ON
    assert len(meta["onnx_sha256"]) == 64 and meta["precision"] == "fp16"
    assert meta["profile"] == {"min_batch": 1, "opt_batch": 8, "max_batch": 128, "workspace_mib": 1024}
    assert (
        check_engine_metadata(engine_with_metadata, BUILT_ON, onnx_file)["onnx_sha256"] == meta["onnx_sha256"]
    )


def test_engine_from_another_gpu_is_refused_with_both_gpus_named(engine_with_metadata):
    here = {**BUILT_ON, "gpu_name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0"}
    with pytest.raises(EngineMismatchError) as err:
        check_engine_metadata(engine_with_metadata, here)
    message = str(err.value)
    assert "NVIDIA A100-SXM4-40GB" in message and "NVIDIA H100 80GB HBM3" in message
    assert "compute_capability" in message and "Rebuild" in message


def test_engine_from_another_tensorrt_version_is_refused(engine_with_metadata):
    with pytest.raises(
        EngineMismatchError, match=r"tensorrt_version is '10.3.0' in the engine but '10.13.2' here"
    ):
        check_engine_metadata(engine_with_metadata, {**BUILT_ON, "tensorrt_version": "10.13.2"})


def test_engine_is_stale_once_its_onnx_changes(engine_with_metadata, onnx_file):
    scale_onnx(onnx_file, 3.0)
    with pytest.raises(EngineMismatchError, match="stale engine"):
        check_engine_metadata(engine_with_metadata, BUILT_ON, onnx_file)


def test_engine_without_metadata_is_refused(engine_with_metadata):
    metadata_path(engine_with_metadata).unlink()
    with pytest.raises(EngineMismatchError, match="no metadata file model_fp16.engine.json"):
        check_engine_metadata(engine_with_metadata, BUILT_ON)


def test_profile_must_be_ordered():
    with pytest.raises(ConfigError, match="min_batch <= opt_batch <= max_batch"):
        BuildSettings(min_batch=1, opt_batch=256, max_batch=128)


@pytest.mark.skipif(not HAVE_TENSORRT, reason="needs TensorRT (pip install '.[tensorrt]') and a CUDA GPU")
def test_real_fp16_build_runs_and_matches_onnxruntime(tmp_path, onnx_file):
    from headpose.deploy.runtime import onnx_predictor
    from headpose.deploy.tensorrt_runtime import TensorRTEngine

    engine_path, cache = tmp_path / "model_fp16.engine", tmp_path / "timing.cache"
    result = build_or_skip(onnx_file, engine_path, "fp16", BuildSettings(opt_batch=4, max_batch=16), cache)
    assert result["status"] == "built" and engine_path.stat().st_size > 0 and cache.stat().st_size > 0
    engine = TensorRTEngine(engine_path, onnx_file)
    batch = np.random.default_rng(0).standard_normal((5, 3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(engine.predict(batch), onnx_predictor(onnx_file).predict(batch), atol=1e-2)
