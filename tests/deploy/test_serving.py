"""The registered champion behind the real `mlflow models serve` on loopback: bad requests get a
4xx with a clear message, the server stays up, and a burst loses nothing. Prints the load figures."""

import concurrent.futures
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from headpose.deploy.mlflow_registry import register_candidate
from headpose.deploy.promotion import Gates
from headpose.deploy.pyfunc import encode_image

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, body: bytes, content_type: str = "application/json") -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_artifacts, empty_mlflow_db):
    import shutil

    import mlflow

    root = tmp_path_factory.mktemp("serving")
    shutil.copy(empty_mlflow_db, root / "mlruns.db")
    uri = f"sqlite:///{root / 'mlruns.db'}"
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("headpose-serving")
    row = {"name": "tiny", "mae_synthetic": 5.0, "mae_real": None, "p50_ms": 1.0}
    register_candidate(row, tiny_artifacts.onnx_path, None, Gates(), "dvc:1")
    mlflow.set_tracking_uri(previous)
    port = _free_port()
    bin_dir = str(Path(sys.executable).parent)  # the server runs uvicorn from this environment
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    mlflow_bin = str(Path(bin_dir) / "mlflow")
    process = subprocess.Popen(
        [
            mlflow_bin,
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
            "2",
        ],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{base}/ping", timeout=2)
            break
        except OSError:
            if process.poll() is not None:
                pytest.fail(f"mlflow models serve exited: {process.stdout.read().decode()[-2000:]}")
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("mlflow models serve did not come up in 120 s")
    yield f"{base}/invocations"
    process.terminate()
    process.wait(timeout=30)


def _payload(images) -> bytes:
    return json.dumps(
        {"dataframe_split": {"columns": ["image"], "data": [[encode_image(im)] for im in images]}}
    ).encode()


@pytest.mark.parametrize(
    "body, content_type, message",
    [
        (b"{not json", "application/json", "Invalid input"),
        (b"", "application/json", ""),
        (
            json.dumps({"dataframe_split": {"columns": ["image"], "data": [[12345]]}}).encode(),
            "application/json",
            "row 0: column 'image' must be a base64 string, got int",
        ),
        (
            json.dumps({"dataframe_split": {"columns": ["pixels"], "data": [["x"]]}}).encode(),
            "application/json",
            "image",
        ),
        (
            json.dumps({"dataframe_split": {"columns": ["image"], "data": [["bm90IGFuIGltYWdl"]]}}).encode(),
            "application/json",
            "row 0: column 'image' does not decode to an image",
        ),
        (b"x" * (20 * 1024 * 1024), "application/json", ""),
    ],
)
def test_bad_requests_get_a_4xx_with_a_message_and_the_server_stays_up(
    server, tiny_artifacts, body, content_type, message
):
    status, text = _post(server, body, content_type)
    assert 400 <= status < 500, (status, text[:500])
    assert message in text
    status, _ = _post(server, _payload(tiny_artifacts.test.images[:1]))
    assert status == 200  # still serving


def test_a_burst_of_200_requests_from_4_threads_loses_none(server, tiny_artifacts):
    body = _payload(tiny_artifacts.test.images[:1])

    def call(_):
        start = time.perf_counter()
        status, text = _post(server, body)
        return status, text, time.perf_counter() - start

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(call, range(200)))
    wall = time.perf_counter() - start
    assert [status for status, _, _ in results] == [200] * 200
    assert all(len(json.loads(text)["predictions"]) == 1 for _, text, _ in results)
    latency = np.array([seconds for _, _, seconds in results]) * 1000
    print(
        f"\nserving burst: 200 requests, 4 client threads: p50 {np.percentile(latency, 50):.1f} ms, "
        f"p99 {np.percentile(latency, 99):.1f} ms, {200 / wall:.0f} requests/s"
    )
