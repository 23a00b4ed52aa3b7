"""`headpose export` (FP32 / INT8 ONNX with headpose metadata), `headpose info`, and the commands' help."""

import json

import numpy as np
import onnx
import pytest

from headpose.cli import build_parser, main
from headpose.deploy.runtime import CONVENTIONS, load_model, onnx_metadata
from headpose.models import create_model
from headpose.training.checkpoint import Checkpoint, save_checkpoint
from tests.inference.conftest import export_tiny_onnx

META = {"input_size": 32, "training_data": "synthetic renders, 1,000 images (test)", "version": "test-1"}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "tiny.pt"
    model = create_model("hopenet", backbone="mobilenet_relu", width_mult=0.25).eval()
    save_checkpoint(Checkpoint(model, dict(META)), path)
    return path


@pytest.fixture(scope="module")
def exported(checkpoint, tmp_path_factory):
    """The checkpoint exported by the command (the dynamo exporter: seconds, so once)."""
    out = tmp_path_factory.mktemp("exported") / "tiny.onnx"
    assert (
        main(
            ["export", "--model", str(checkpoint), "--out", str(out), "--json", str(out.with_suffix(".json"))]
        )
        == 0
    )
    return out


def test_export_of_a_checkpoint_is_parity_checked_and_self_describing(exported, checkpoint):
    report = json.loads(exported.with_suffix(".json").read_text())
    assert (
        report["precision"] == "fp32" and report["input_size"] == 32 and report["source"] == str(checkpoint)
    )
    assert report["parity"]["max_abs_diff_deg"] <= 0.01
    meta = onnx_metadata(onnx.load(str(exported)))
    assert meta["input_size"] == "32" and meta["angle_order"] == "yaw, pitch, roll"
    assert meta["training_data"] == META["training_data"] and meta["model_version"] == "test-1"
    assert meta["normalization"] == CONVENTIONS["normalization"] and "hopenet" in meta["architecture"]
    assert load_model(str(exported)).input_size == 32


def test_info_reads_the_onnx_metadata_and_the_checkpoint(exported, checkpoint, capsys, tmp_path):
    assert main(["info", "--model", str(exported), "--json", str(tmp_path / "info.json")]) == 0
    out = capsys.readouterr().out
    info = json.loads((tmp_path / "info.json").read_text())
    assert info["metadata"] == "embedded" and info["input_size"] == 32 and info["precision"] == "fp32"
    assert (
        info["training_data"] == META["training_data"]
        and info["angle_convention"] == CONVENTIONS["angle_convention"]
    )
    for line in ("input_size        32", "angle_order       yaw, pitch, roll", "training_data     synthetic"):
        assert line in out
    assert main(["info", "--model", str(checkpoint)]) == 0
    assert "model_version     test-1" in capsys.readouterr().out


def test_info_of_an_onnx_file_without_metadata_gives_the_project_conventions(tmp_path, capsys):
    bare = export_tiny_onnx(tmp_path / "bare.onnx")
    assert main(["info", "--model", str(bare), "--json", str(tmp_path / "i.json")]) == 0
    info = json.loads((tmp_path / "i.json").read_text())
    assert info["input_size"] == 48 and info["training_data"] == "not recorded"
    assert (
        info["metadata"].startswith("none in the file")
        and info["normalization"] == CONVENTIONS["normalization"]
    )


def test_export_int8_quantises_within_the_budget_and_records_it(exported, tmp_path, capsys):
    out = tmp_path / "tiny_int8.onnx"
    argv = [
        "export",
        "--model",
        str(exported),
        "--int8",
        "--out",
        str(out),
        "--calibration-images",
        "32",
        "--json",
        str(tmp_path / "q.json"),
    ]
    assert main([*argv, "--max-drop", "1000"]) == 0  # an untrained net: accuracy is not the point here
    report = json.loads((tmp_path / "q.json").read_text())
    assert report["precision"] == "int8" and report["int8"]["qdq"]["QuantizeLinear"] > 0
    assert report["int8"]["int8_units"] and "head" in report["int8"]["float_units"]
    meta = onnx_metadata(onnx.load(str(out)))
    assert meta["precision"].startswith("int8 (cpu") and "32 synthetic renders" in meta["quantization"]
    assert meta["training_data"] == META["training_data"]  # kept through quantisation
    batch = np.zeros((2, 3, 32, 32), np.float32)
    assert load_model(str(out)).predict(batch).shape == (2, 3)
    assert "INT8 (cpu)" in capsys.readouterr().out
    assert main(["export", "--model", str(out), "--int8", "--out", str(tmp_path / "again.onnx")]) == 2
    assert "already quantised" in capsys.readouterr().err


def test_export_refuses_bad_requests(tmp_path, capsys, checkpoint):
    assert main(["export", "--model", str(checkpoint), "--out", str(tmp_path / "x.engine")]) == 2
    assert "must end in .onnx" in capsys.readouterr().err
    assert main(["export", "--model", "mediapipe", "--out", str(tmp_path / "x.onnx")]) == 2
    assert "MediaPipe teacher" in capsys.readouterr().err
    assert main(["export", "--model", str(tmp_path / "nope.pt"), "--out", str(tmp_path / "x.onnx")]) == 2
    assert "nope.pt: model file not found" in capsys.readouterr().err
    assert not (tmp_path / "x.onnx").exists()


@pytest.mark.parametrize(
    "command", ["predict", "label", "evaluate", "benchmark", "export", "info", "bench-synth"]
)
def test_every_command_has_help_with_examples(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([command, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "example" in text and f"headpose {command}" in text


def test_models_default_to_the_pretrained_model():
    parser = build_parser()
    for argv in (
        ["predict", "x.jpg"],
        ["evaluate", "--root", "r"],
        ["benchmark"],
        ["export", "--out", "o.onnx"],
        ["info"],
    ):
        assert parser.parse_args(argv).model == "pretrained"
    assert parser.parse_args(["predict", "x.jpg"]).detector == "blazeface"
