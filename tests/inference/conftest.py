"""Tiny real inputs for the inference tests: an exported ONNX model and a rendered head turning."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import TEST_DATA

MODEL_SIZE = 48
FRAME_W, FRAME_H, HEAD_SIZE, HEAD_AT = 192, 144, 96, (48, 24)  # the head crop is pasted at (x, y)
CLIP = TEST_DATA / "video" / "head_turning_400x300.mp4"


def export_tiny_onnx(path: Path) -> Path:
    """A small untrained Hopenet (MobileNetV3-Small x0.5, 48 px) as ONNX; accuracy is irrelevant here.

    Uses the TorchScript exporter (~2 s) rather than deploy.onnx_export's dynamo path (~16 s here);
    the graph has the same input/output names and dynamic batch axis.
    """
    if path.exists():
        return path
    import torch

    from headpose.models import AnglesOnly, create_model

    torch.manual_seed(0)
    model = AnglesOnly(create_model("hopenet", backbone="mobilenet_v3_small", width_mult=0.5))
    # Fresh BatchNorm statistics and a wider head: otherwise an untrained net answers the same for every
    # input, and tests could not tell one crop (or frame) from another.
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None
    torch.nn.init.normal_(model.model.head.weight, std=0.3)
    with torch.no_grad():
        model(torch.randn(32, 3, MODEL_SIZE, MODEL_SIZE))
    model.eval()
    tmp = path.with_suffix(".tmp")
    torch.onnx.export(
        model,
        (torch.zeros(2, 3, MODEL_SIZE, MODEL_SIZE),),
        str(tmp),
        input_names=["image"],
        output_names=["angles"],
        dynamic_axes={"image": {0: "batch"}, "angles": {0: "batch"}},
        dynamo=False,
    )
    tmp.rename(path)
    return path


def render_head_turn(
    n: int = 30, yaw_range: tuple[float, float] = (-40.0, 40.0)
) -> tuple[list[np.ndarray], np.ndarray]:
    """``n`` RGB frames of one synthetic head turning, and its 68-landmark box (x0, y0, x1, y1) per frame."""
    from headpose.synth.generate import generate

    frames, boxes = [], []
    for yaw in np.linspace(*yaw_range, n):
        config = dict(
            num_images=1,
            image_size=HEAD_SIZE,
            seed=3,
            yaw_range=(yaw, yaw),
            pitch_range=(0, 0),
            roll_range=(0, 0),
            large_angle_fraction=0,
            occlusion_probability=0,
            crop_shift=0,
        )
        faces = generate(config, workers=1, progress=False)
        frame = np.full((FRAME_H, FRAME_W, 3), 70, np.uint8)
        x, y = HEAD_AT
        frame[y : y + HEAD_SIZE, x : x + HEAD_SIZE] = faces.images[0]
        landmarks = faces.arrays["landmarks"][0] + HEAD_AT
        frames.append(frame)
        boxes.append(np.r_[landmarks.min(0), landmarks.max(0)])
    return frames, np.array(boxes)


def write_video(path: Path, frames: list[np.ndarray], fps: float = 10.0) -> Path:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    assert writer.isOpened()
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def read_video(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        frames.append(bgr)
    capture.release()
    return frames


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory) -> Path:
    return export_tiny_onnx(tmp_path_factory.getbasetemp() / "tiny_headpose.onnx")


@pytest.fixture(scope="session")
def head_turn() -> tuple[list[np.ndarray], np.ndarray]:
    return render_head_turn()


@pytest.fixture(scope="session")
def head_video(tmp_path_factory, head_turn) -> Path:
    return write_video(tmp_path_factory.mktemp("video") / "head_turn.mp4", head_turn[0])


@pytest.fixture
def clip() -> Path:
    if not CLIP.is_file():
        pytest.skip(f"{CLIP} is not available")
    return CLIP
