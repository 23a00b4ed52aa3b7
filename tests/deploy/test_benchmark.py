"""Benchmark rows: the schema every consumer relies on, measured numbers, skipped rows with reasons."""

import json

import numpy as np
import pytest
import torch

from headpose.data.faceset import FaceSet
from headpose.deploy.benchmark import (
    ROW_FIELDS,
    BenchmarkSettings,
    benchmark_all,
    benchmark_figure,
    markdown_table,
    mlflow_metrics,
)
from headpose.deploy.runnables import cuda_runnable, onnx_runnable, pytorch_runnable, tensorrt_runnable
from headpose.errors import ConfigError
from headpose.flops import count_macs, count_params

SETTINGS = BenchmarkSettings(
    threads=1, eval_threads=1, warmup=1, repeats=5, batch_sizes=(1, 8), throughput_seconds=0.02
)


@pytest.fixture(scope="module")
def rows(tiny_artifacts):
    art = tiny_artifacts
    torch_run = pytorch_runnable("tiny_pytorch", art.checkpoint, art.checkpoint_path)
    runnables = [
        torch_run,
        onnx_runnable("tiny_onnx", art.onnx_path, "fp32", threads=1, source=torch_run),
        tensorrt_runnable(
            "tiny_fp16_trt",
            None,
            art.onnx_path,
            "fp16",
            {"status": "skipped", "reason": "TensorRT is not installed"},
            torch_run,
        ),
        cuda_runnable("tiny_cuda_fp16", art.checkpoint, source=torch_run),
    ]
    empty_real = FaceSet(np.zeros((0, 48, 48, 3), np.uint8), art.test.labels.iloc[:0])
    return benchmark_all(runnables, art.test, empty_real, SETTINGS)


def test_every_row_has_the_documented_fields_and_is_json(rows):
    assert [r["name"] for r in rows][:3] == ["tiny_pytorch", "tiny_onnx", "tiny_fp16_trt"]
    for row in rows:
        assert set(ROW_FIELDS) <= set(row)
    json.loads(json.dumps(rows))


def test_measured_rows_have_positive_numbers_and_real_mae_is_null_without_a_real_set(rows, tiny_artifacts):
    measured = [r for r in rows if r["skipped"] is None]
    assert {r["backend"] for r in measured} >= {"pytorch", "onnxruntime"}
    for row in measured:
        assert 0 < row["p50_ms"] <= row["p90_ms"] <= row["p99_ms"]
        assert set(row["throughput"]) == {"1", "8"} and all(v > 0 for v in row["throughput"].values())
        assert row["size_bytes"] > 0 and row["mae_synthetic"] > 0 and row["mae_real"] is None
        assert row["threads"] == 1 and row["input_size"] == 32
    model = tiny_artifacts.checkpoint.model
    onnx_row = rows[1]
    assert onnx_row["params"] == count_params(model) and onnx_row["macs"] == count_macs(model, 32)
    assert (
        onnx_row["size_bytes"] == tiny_artifacts.onnx_path.stat().st_size
        and onnx_row["source"] == "tiny_pytorch"
    )
    # Same network, same inputs: ONNX Runtime and PyTorch agree on accuracy.
    assert onnx_row["mae_synthetic"] == pytest.approx(rows[0]["mae_synthetic"], abs=1e-3)


def test_what_cannot_run_here_is_a_row_with_the_reason(rows):
    trt = rows[2]
    assert trt["skipped"] == "TensorRT is not installed" and trt["backend"] == "tensorrt"
    assert trt["p50_ms"] is None and trt["throughput"] is None and trt["mae_synthetic"] is None
    if not torch.cuda.is_available():
        assert "no CUDA GPU" in rows[3]["skipped"] and rows[3]["p50_ms"] is None


def test_markdown_has_one_row_per_artifact(rows):
    lines = markdown_table(rows).strip().splitlines()
    assert len(lines) == 2 + len(rows)
    assert "img/s @8" in lines[0] and "MAE real" in lines[0]
    for row, line in zip(rows, lines[2:]):
        assert line.startswith(f"| {row['name']} |")
    assert "TensorRT is not installed" in lines[4]


def test_plot_and_mlflow_metrics_cover_measured_rows(rows):
    figure = benchmark_figure(rows)
    assert len(figure.axes[0].collections) == sum(r["skipped"] is None for r in rows)
    metrics = mlflow_metrics(rows)
    assert metrics["tiny_onnx.p50_ms"]["value"] == rows[1]["p50_ms"]
    assert "tiny_onnx.throughput_b8" in metrics and "tiny_fp16_trt.p50_ms" not in metrics


def test_settings_reject_unknown_keys_and_empty_batch_sizes():
    with pytest.raises(ConfigError, match="benchmark.settings.thread: unknown key; did you mean 'threads'?"):
        BenchmarkSettings.from_dict({"thread": 1})
    with pytest.raises(ConfigError, match="benchmark.settings.batch_sizes: needs at least one batch size"):
        BenchmarkSettings.from_dict({"batch_sizes": []})
