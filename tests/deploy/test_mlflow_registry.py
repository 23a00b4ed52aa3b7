"""Promotion gates on a real MLflow sqlite registry, and the pyfunc served from models:/headpose@champion."""

import io
import json
import os

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from headpose.data.preprocess import to_model_input
from headpose.deploy.mlflow_registry import register_candidate
from headpose.deploy.model_refs import resolve_model_uri
from headpose.deploy.promotion import Gates
from headpose.deploy.pyfunc import encode_image
from headpose.deploy.runtime import load_model, onnx_predictor
from headpose.errors import HeadposeError

GATES = Gates(mae_tolerance_deg=0.1, latency_budget_ms=5.0)


def row(name, mae, p50):
    return {
        "name": name,
        "backend": "onnxruntime",
        "precision": "fp32",
        "mae_synthetic": mae,
        "mae_real": None,
        "p50_ms": p50,
        "p99_ms": p50 * 1.5,
        "macs": 1000,
        "params": 100,
        "size_bytes": 10,
        "skipped": None,
        "source": "tiny_pytorch",
    }


def champion_version(client):
    return client.get_model_version_by_alias("headpose", "champion").version


def test_gates_promote_only_better_or_equal_and_fast_enough(mlflow_registry, tiny_artifacts):
    client, onnx, ckpt = MlflowClient(), tiny_artifacts.onnx_path, tiny_artifacts.checkpoint

    first = register_candidate(row("a", 5.0, 1.0), onnx, ckpt, GATES, "dvc:1")
    assert first["alias"] == "champion" and first["previous_champion"] is None
    assert champion_version(client) == first["version"]

    worse = register_candidate(row("b", 6.0, 0.5), onnx, ckpt, GATES, "dvc:1")
    assert worse["alias"] == "challenger" and not worse["promoted"]
    assert "worse than the champion's 5.000 deg" in worse["reason"]
    tags = client.get_model_version("headpose", worse["version"]).tags
    assert tags["promotion"] == "challenger" and tags["promotion_reason"] == worse["reason"]
    assert (
        tags["mae_synthetic"] == "6.0"
        and tags["backend"] == "onnxruntime"
        and tags["data_version"] == "dvc:1"
    )

    slow = register_candidate(row("c", 4.0, 9.0), onnx, ckpt, GATES, "dvc:1")
    assert slow["alias"] == "challenger" and "exceeds the latency budget 5.000 ms" in slow["reason"]
    assert champion_version(client) == first["version"]  # the champion kept its alias through both

    within_tolerance = register_candidate(row("d", 5.05, 1.0), onnx, ckpt, GATES, "dvc:1")
    assert within_tolerance["alias"] == "champion" and champion_version(client) == within_tolerance["version"]
    assert client.get_model_version_by_alias("headpose", "challenger").version == slow["version"]


def test_a_failed_registration_leaves_the_champion_in_place(mlflow_registry, tiny_artifacts, tmp_path):
    first = register_candidate(row("a", 5.0, 1.0), tiny_artifacts.onnx_path, None, GATES, "dvc:1")
    with pytest.raises(HeadposeError, match="candidate ONNX not found"):
        register_candidate(row("b", 1.0, 0.1), tmp_path / "missing.onnx", None, GATES, "dvc:1")
    assert champion_version(MlflowClient()) == first["version"]


def test_champion_from_other_data_is_remeasured_before_comparing(mlflow_registry, tiny_artifacts):
    art = tiny_artifacts
    register_candidate(row("a", 0.5, 1.0), art.onnx_path, None, GATES, "dvc:old")
    measured = []

    def remeasure(uri):
        model = load_model(uri, threads=None)  # a real download from the registry
        measured.append(uri)
        predicted = model.predict(to_model_input(art.test.images, model.input_size))
        return float(np.abs(predicted - art.test.angles).mean())

    result = register_candidate(
        row("b", 100.0, 1.0), art.onnx_path, None, GATES, "dvc:new", remeasure=remeasure
    )
    assert measured == ["models:/headpose/1"]
    assert "re-measured version 1" in result["champion_reference"]
    # The old tag (0.5 deg) would have blocked it; re-measured, the same network is as good as itself.
    assert result["champion_reference_mae"] > 1.0


def test_pyfunc_champion_predicts_angles_from_base64_images_and_cli_uri_resolves(
    mlflow_registry, tiny_artifacts
):
    art = tiny_artifacts
    register_candidate(
        row("a", 5.0, 1.0), art.onnx_path, art.checkpoint, GATES, "dvc:1", example_image=art.test.images[0]
    )
    model = mlflow.pyfunc.load_model("models:/headpose@champion")
    images = art.test.images[:4]
    out = model.predict(pd.DataFrame({"image": [encode_image(im) for im in images]}))
    assert list(out.columns) == ["yaw", "pitch", "roll"] and len(out) == 4
    expected = onnx_predictor(art.onnx_path).predict(to_model_input(images, 32))
    np.testing.assert_allclose(
        out.to_numpy(), expected, atol=1e-4
    )  # PNG is lossless: same pixels, same angles

    local = resolve_model_uri("models:/headpose@champion")
    assert local.suffix == ".onnx" and local.read_bytes() == art.onnx_path.read_bytes()
    files = {p.name for p in local.parent.rglob("*")}
    assert "checkpoint.pt" in files  # the PyTorch checkpoint travels with the registered version


def test_bad_request_images_are_rejected_with_the_row(mlflow_registry, tiny_artifacts):
    register_candidate(row("a", 5.0, 1.0), tiny_artifacts.onnx_path, None, GATES, "dvc:1")
    model = mlflow.pyfunc.load_model("models:/headpose@champion")
    with pytest.raises(Exception, match="row 1"):
        model.predict(
            pd.DataFrame({"image": [encode_image(tiny_artifacts.test.images[0]), "bm90IGFuIGltYWdl"]})
        )


def _png_header(width: int, height: int) -> str:
    """base64 of a PNG whose header claims width x height (a decompression bomb's first bytes)."""
    import base64
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return base64.b64encode(b"\x89PNG\r\n\x1a\n" + chunk).decode()


@pytest.mark.parametrize(
    "value, message",
    [
        (
            _png_header(20000, 20000),
            "row 0: the image has 400,000,000 pixels, more than the 16,777,216 served",
        ),
        (12345, "Incompatible input types for column image"),  # MLflow's schema check
        ("bm90IGFuIGltYWdl", "row 0: column 'image' does not decode to an image"),
        ("", "row 0: column 'image' is empty"),
    ],
)
def test_a_bad_row_is_a_client_error_with_its_reason_before_any_decoding(
    mlflow_registry, tiny_artifacts, value, message
):
    from mlflow.exceptions import MlflowException

    register_candidate(row("a", 5.0, 1.0), tiny_artifacts.onnx_path, None, GATES, "dvc:1")
    model = mlflow.pyfunc.load_model("models:/headpose@champion")
    with pytest.raises(MlflowException, match=message) as info:
        model.predict(pd.DataFrame({"image": [value]}))
    assert info.value.get_http_status_code() == 400


def test_cli_benchmark_accepts_the_champion_uri(mlflow_registry, tiny_artifacts, capsys):
    from headpose.cli import main

    register_candidate(row("a", 5.0, 1.0), tiny_artifacts.onnx_path, None, GATES, "dvc:1")
    capsys.readouterr()
    assert (
        main(["benchmark", "--model", "models:/headpose@champion", "--repeats", "3", "--seconds", "0.05"])
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["backend"] == "onnxruntime" and result["model"].endswith(tiny_artifacts.onnx_path.name)
    assert result["p50_ms"] > 0 and result["throughput"] > 0


_LOAD_COPY = """
import sys
import mlflow.pyfunc
import pandas as pd
model = mlflow.pyfunc.load_model(sys.argv[1])
import headpose
assert headpose.__file__.startswith(sys.argv[1]), headpose.__file__  # the code inside the folder
print(model.predict(pd.read_json(sys.argv[2])).to_json())
"""


def test_a_copied_model_folder_loads_and_predicts_in_a_fresh_process(
    mlflow_registry, tiny_artifacts, tmp_path
):
    import shutil
    import subprocess
    import sys

    register_candidate(
        row("a", 5.0, 1.0), tiny_artifacts.onnx_path, tiny_artifacts.checkpoint, GATES, "dvc:1"
    )
    downloaded = mlflow.artifacts.download_artifacts(
        "models:/headpose@champion", dst_path=str(tmp_path / "dl")
    )
    copy = tmp_path / "elsewhere" / "model"
    shutil.copytree(downloaded, copy)
    shutil.rmtree(tmp_path / "dl")  # nothing of the original is left to point to
    request = tmp_path / "request.json"
    images = tiny_artifacts.test.images[:2]
    pd.DataFrame({"image": [encode_image(im) for im in images]}).to_json(request)
    done = subprocess.run(
        [sys.executable, "-c", _LOAD_COPY, str(copy), str(request)],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    angles = pd.read_json(io.StringIO(done.stdout.strip().splitlines()[-1])).to_numpy()
    expected = onnx_predictor(tiny_artifacts.onnx_path).predict(to_model_input(images, 32))
    np.testing.assert_allclose(angles, expected, atol=1e-4)
    assert not list((copy / "code").rglob("*.tflite")) and not list((copy / "code").rglob("*.pt"))


_REGISTER = """
import sys
import mlflow
from headpose.deploy.mlflow_registry import register_candidate
from headpose.deploy.promotion import Gates
mlflow.set_experiment("headpose-test")
row = {"name": sys.argv[1], "mae_synthetic": float(sys.argv[2]), "mae_real": None, "p50_ms": 1.0}
print(register_candidate(row, sys.argv[3], None, Gates(mae_tolerance_deg=0.1), "dvc:1")["alias"])
"""


def test_concurrent_registrations_keep_versions_and_aliases_consistent(
    mlflow_registry, tiny_artifacts, tmp_path
):
    import subprocess
    import sys

    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _REGISTER, name, mae, str(tiny_artifacts.onnx_path)],
            cwd=tmp_path,
            env={**os.environ, "MLFLOW_TRACKING_URI": mlflow_registry},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, mae in (("a", "5.0"), ("b", "5.5"), ("c", "4.0"))
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-1500:] for _, err in outputs]
    client = MlflowClient()
    versions = client.search_model_versions("name='headpose'")
    assert sorted(int(v.version) for v in versions) == [1, 2, 3]
    champion = client.get_model_version_by_alias("headpose", "champion")
    assert champion.tags["promotion"] == "champion"
    promoted = [v for v in versions if v.tags.get("promotion") == "champion"]
    assert champion.version in {v.version for v in promoted}
    # the MAEs are further apart than the tolerance: whatever the order, the best one is the champion
    assert float(champion.tags["mae_synthetic"]) == 4.0


def test_an_onnx_that_is_not_the_registered_checkpoint_is_refused(mlflow_registry, tiny_artifacts):
    from headpose.deploy.onnx_export import weights_digest
    from headpose.models import create_model
    from headpose.training.checkpoint import Checkpoint

    first = register_candidate(
        row("a", 5.0, 1.0), tiny_artifacts.onnx_path, tiny_artifacts.checkpoint, GATES, "dvc:1"
    )
    tags = MlflowClient().get_model_version("headpose", str(first["version"])).tags
    assert tags["weights_sha256"] == weights_digest(tiny_artifacts.checkpoint.model)
    other = Checkpoint(
        create_model("hopenet", backbone="mobilenet_relu", width_mult=0.25).eval(), {"input_size": 32}
    )
    with pytest.raises(HeadposeError, match="re-export it from that checkpoint"):
        register_candidate(row("b", 4.0, 1.0), tiny_artifacts.onnx_path, other, GATES, "dvc:1")
    assert int(champion_version(MlflowClient())) == first["version"]
