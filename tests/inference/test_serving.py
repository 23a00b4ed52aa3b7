"""The registered pyfunc model served by the real `mlflow models serve`, queried over loopback HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest

from headpose.data.crops import crop_resize
from headpose.data.preprocess import to_model_input
from headpose.deploy.runtime import onnx_predictor
from headpose.inference.config import PredictConfig
from headpose.inference.detection import CropMapping
from tests.inference.conftest import render_head_turn

READY_TIMEOUT_S = 90


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def champion(tmp_path_factory, tiny_onnx):
    """The tiny ONNX model logged through deploy.pyfunc and registered as headpose@champion."""
    import mlflow

    from headpose.deploy.pyfunc import log_pyfunc_model

    tmp_path = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        artifacts = (tmp_path / "artifacts").as_uri()
        experiment = mlflow.create_experiment("serving-test", artifact_location=artifacts)
        with mlflow.start_run(experiment_id=experiment):
            info = log_pyfunc_model(tiny_onnx, None, registered_model_name="headpose")
        version = info.registered_model_version
        mlflow.MlflowClient().set_registered_model_alias("headpose", "champion", version)
    finally:
        mlflow.set_tracking_uri(previous)
    return uri


def wait_until_ready(server: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log = server.stdout.read()
            raise AssertionError(f"mlflow models serve exited with {server.returncode}:\n{log}")
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"mlflow models serve was not ready within {READY_TIMEOUT_S} s")


def stop(server: subprocess.Popen) -> None:
    """End the server and its workers (its own process group), whatever state it is in."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:  # the group is already gone
            break
        try:
            server.wait(timeout=15)
            break
        except subprocess.TimeoutExpired:
            continue
    server.wait()


@pytest.mark.slow  # a real server process: ~20 s to start on 2 cores
def test_served_champion_answers_yaw_pitch_roll_for_a_face_crop(champion, tiny_onnx):
    from headpose.deploy.pyfunc import encode_image

    frames, boxes = render_head_turn(n=1)
    crop = crop_resize(frames[0], CropMapping().crop_box(boxes[0]), 96)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "models",
            "serve",
            "-m",
            "models:/headpose@champion",
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-w",
            "1",
        ],
        # The server execs `uvicorn` by name: put this interpreter's bin/ first, as an activated venv would.
        env={
            **os.environ,
            "MLFLOW_TRACKING_URI": champion,
            "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: the workers end with it
    )
    try:
        wait_until_ready(server, url)
        payload = {"dataframe_split": {"columns": ["image"], "data": [[encode_image(crop)]]}}
        body = json.dumps(payload).encode()
        request = urllib.request.Request(f"{url}/invocations", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
    finally:
        stop(server)
    (row,) = answer["predictions"]
    assert set(row) == {"yaw", "pitch", "roll"}
    model = onnx_predictor(tiny_onnx)
    expected = model.predict(to_model_input(crop, model.input_size))[0]
    np.testing.assert_allclose([row["yaw"], row["pitch"], row["roll"]], expected, atol=1e-3)


def test_predict_runs_the_registered_champion(champion, tmp_path, tiny_onnx):
    import mlflow

    from headpose.inference.predict import predict

    frames, boxes = render_head_turn(n=1)
    image = tmp_path / "face.png"
    cv2.imwrite(str(image), cv2.cvtColor(frames[0], cv2.COLOR_RGB2BGR))
    (tmp_path / "boxes.json").write_text(json.dumps({"face.png": [boxes[0].tolist()]}))
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(champion)
    try:
        summary = predict(
            str(image),
            "models:/headpose@champion",
            jsonl=tmp_path / "p.jsonl",
            progress=False,
            config=PredictConfig(boxes=str(tmp_path / "boxes.json")),
        )
    finally:
        mlflow.set_tracking_uri(previous)
    assert summary["faces"] == 1 and summary["backend"] == "onnxruntime"
    (row,) = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    model = onnx_predictor(tiny_onnx)
    crop = crop_resize(frames[0], CropMapping().crop_box(boxes[0]), model.input_size)
    expected = model.predict(to_model_input(crop, model.input_size))[0]
    np.testing.assert_allclose([row["yaw"], row["pitch"], row["roll"]], expected, atol=2e-3)
