"""Every configured artifact becomes something to time, or a row that says why it cannot run here."""

import torch

from headpose.deploy.artifacts import ExportConfig
from headpose.deploy.benchmark import BenchmarkConfig
from headpose.deploy.runnables import collect_runnables, row_name, tensorrt_runnable
from headpose.deploy.tensorrt_build import tensorrt_unavailable_reason

EXPORT = ExportConfig.from_dict(
    {
        "models": [
            {"name": "tiny", "dataset": "tiny_model"},
            {
                "name": "tiny_int8",
                "dataset": "tiny_int8_onnx",
                "kind": "onnx",
                "precision": "int8",
                "source": "tiny",
            },
        ]
    }
)
ONNX_REPORT = {
    "models": {"tiny": {"precision": "fp32", "source": "tiny"}},
    "missing": [{"name": "tiny_int8", "dataset": "tiny_int8_onnx", "reason": "holds no data"}],
}
BUILD_REPORT = {
    "engines": {
        "tiny_fp16": {"status": "skipped", "reason": "no TensorRT here", "onnx": "tiny", "precision": "fp16"}
    }
}


def test_checkpoints_onnx_files_engines_and_cuda_models_each_get_a_runnable(tiny_artifacts):
    benchmark = BenchmarkConfig.from_dict({"cuda": {"models": ["tiny", "absent"]}})
    runnables = collect_runnables(
        {"tiny_model": tiny_artifacts.checkpoint},
        {"tiny": tiny_artifacts.onnx_path},
        ONNX_REPORT,
        {},
        BUILD_REPORT,
        EXPORT,
        benchmark,
    )
    by_name = {r.name: r for r in runnables}
    assert list(by_name) == ["tiny_pytorch", "tiny_onnx", "tiny_int8_onnx", "tiny_fp16_trt", "tiny_fp16_cuda"]
    torch_run, onnx_run = by_name["tiny_pytorch"], by_name["tiny_onnx"]
    assert onnx_run.source == "tiny_pytorch" and onnx_run.params == torch_run.params
    assert by_name["tiny_int8_onnx"].backend == "onnxruntime"
    assert by_name["tiny_int8_onnx"].skipped == "holds no data"
    assert by_name["tiny_fp16_trt"].skipped == "no TensorRT here"
    assert by_name["tiny_fp16_trt"].source == "tiny_pytorch"
    assert (by_name["tiny_fp16_cuda"].skipped is None) == torch.cuda.is_available()


def test_an_engine_that_was_never_built_is_reported_not_faked():
    runnable = tensorrt_runnable("x_trt", None, None, "fp16", {"status": "built"})
    assert runnable.skipped == (tensorrt_unavailable_reason() or "engine None was not built")
    assert row_name("student_int8_cpu", "onnxruntime") == "student_int8_cpu_onnx"
