"""The ``headpose`` command line."""

import json

import onnx
import pytest
from onnx import TensorProto, helper

import headpose.deploy.runtime as runtime
from headpose.cli import main
from headpose.errors import DatasetError, InputError, ModelError
from headpose.models import create_model
from headpose.training.checkpoint import Checkpoint, save_checkpoint


@pytest.fixture
def tiny_onnx(tmp_path):
    """A real ONNX graph with a dynamic batch and a fixed 8x8 input: angles = per-channel means."""
    x = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, 8, 8])
    y = helper.make_tensor_value_info("angles", TensorProto.FLOAT, ["batch", 3])
    node = helper.make_node("ReduceMean", ["image"], ["angles"], axes=[2, 3], keepdims=0)
    graph = helper.make_graph([node], "mean", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    path = tmp_path / "tiny.onnx"
    onnx.save(model, path)
    return path


def test_benchmark_prints_latency_and_throughput_of_an_onnx_file(tiny_onnx, tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert (
        main(
            [
                "benchmark",
                "--model",
                str(tiny_onnx),
                "--threads",
                "1",
                "--batch",
                "4",
                "--repeats",
                "5",
                "--seconds",
                "0.05",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result == json.loads(out.read_text())
    assert result["backend"] == "onnxruntime" and result["batch"] == 4 and result["input_size"] == 8
    assert 0 < result["p50_ms"] <= result["p99_ms"] and result["throughput"] > 0
    assert result["size_bytes"] == tiny_onnx.stat().st_size


def test_benchmark_runs_a_checkpoint_on_pytorch(tmp_path, capsys):
    path = tmp_path / "tiny.pt"
    model = create_model("hopenet", backbone="mobilenet_relu", width_mult=0.25)
    save_checkpoint(Checkpoint(model, {"input_size": 32}), path)
    assert main(["benchmark", "--model", str(path), "--repeats", "3", "--seconds", "0.05"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["backend"] == "pytorch" and result["threads"] == 1 and result["p50_ms"] > 0


def test_benchmark_of_a_missing_model_is_a_clear_error(tmp_path, capsys):
    assert main(["benchmark", "--model", str(tmp_path / "nope.onnx")]) == 2
    assert "nope.onnx: model file not found" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["benchmark", "--batch", "0"], "argument --batch: expected an integer from 1 to 1024, got '0'"),
        (["benchmark", "--batch", "100000"], "argument --batch: expected an integer from 1 to 1024"),
        (["benchmark", "--threads", "0"], "argument --threads: expected an integer >= 1, got '0'"),
        (["benchmark", "--threads", "-1"], "argument --threads: expected an integer >= 1, got '-1'"),
        (["benchmark", "--repeats", "0"], "argument --repeats: expected an integer >= 1"),
        (["benchmark", "--seconds", "0"], "argument --seconds: expected a number above 0"),
        (
            ["predict", "x.jpg", "--batch-size", "abc"],
            "argument --batch-size: expected an integer from 1 to 1024",
        ),
        (
            ["label", "x.jpg", "--json", "o.jsonl", "--min-score", "nan"],
            "argument --min-score: expected a number >= 0",
        ),
    ],
)
def test_impossible_knobs_are_usage_errors_before_any_work(argv, message, tiny_onnx, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, *(["--model", str(tiny_onnx)] if argv[0] != "label" else [])])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("error", [ModelError, InputError, DatasetError])
def test_every_headpose_error_is_one_line_and_exit_2(error, monkeypatch, capsys):
    def fail(ref):
        raise error(f"{ref}: broken\nsee the log")

    monkeypatch.setattr(runtime, "model_info", fail)
    assert main(["info", "--model", "x.onnx"]) == 2
    captured = capsys.readouterr()
    assert captured.err == "headpose info: error: x.onnx: broken see the log\n" and captured.out == ""


def test_kedro_run_ends_a_bad_parameter_with_one_line_and_exit_2(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlruns.db'}", "COLUMNS": "200"}
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "kedro"),
            "run",
            "--env",
            "test",
            "--params",
            "train.batch_size=abc",
        ],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "Error: train.batch_size: expected an integer, got 'abc' (in conf/<env>/parameters_train.yml)"
    )
    assert "Traceback" not in done.stderr + done.stdout and "╭" not in done.stderr + done.stdout


def test_bench_smoothing_on_the_real_clip(tmp_path, capsys):
    from tests.inference.conftest import CLIP

    if not CLIP.is_file():
        pytest.skip(f"{CLIP} is not available")
    out = tmp_path / "smoothing.json"
    assert main(["bench-smoothing", str(CLIP), "--max-frames", "120", "--json", str(out)]) == 0
    effect = json.loads(out.read_text())
    assert effect["frames"] == 120 and effect["jitter_kept"] < 1
    assert main(["bench-smoothing", str(tmp_path / "smoothing.json")]) == 2  # not a video: one-line error
