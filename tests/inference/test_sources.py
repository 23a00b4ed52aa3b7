import math

import cv2
import numpy as np
import pytest

from headpose.errors import ConfigError, InputError
from headpose.inference.config import PredictConfig
from headpose.inference.sources import open_input, read_image
from tests.inference.conftest import write_video


def test_huge_images_are_downscaled_or_refused(tmp_path):
    path = tmp_path / "big.jpg"
    cv2.imwrite(str(path), np.random.default_rng(0).integers(0, 255, (1200, 1600, 3), np.uint8))
    image, scale = read_image(path, max_pixels=200_000)
    assert image.shape[0] * image.shape[1] <= 200_000
    assert scale == pytest.approx(math.sqrt(200_000 / (1200 * 1600)), rel=0.02)
    assert image.shape[1] / image.shape[0] == pytest.approx(1600 / 1200, rel=0.01)
    with pytest.raises(InputError, match="max_pixels"):
        read_image(path, max_pixels=200_000, on_large="refuse")
    full, one = read_image(path, max_pixels=10_000_000)
    assert full.shape == (1200, 1600, 3) and one == 1.0


def test_unreadable_image_names_the_file(tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG garbage")
    with pytest.raises(InputError, match="unreadable image") as info:
        read_image(path, max_pixels=10**6)
    assert str(path) in str(info.value)


def test_a_folder_yields_every_image_keyed_by_its_relative_path_and_unreadable_ones_as_errors(tmp_path):
    (tmp_path / "in" / "sub").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "in" / "a.png"), np.full((20, 30, 3), 50, np.uint8))
    cv2.imwrite(str(tmp_path / "in" / "sub" / "b.jpg"), np.full((10, 10, 3), 50, np.uint8))
    (tmp_path / "in" / "bad.jpg").write_bytes(b"nope")
    (tmp_path / "in" / "notes.txt").write_text("not an image")
    plan = open_input(str(tmp_path / "in"), None, tmp_path / "out", PredictConfig())
    assert plan.kind == "images" and plan.total == 3
    frames = {f.key: f for f in plan.source}
    assert set(frames) == {"a.png", "bad.jpg", "sub/b.jpg"}
    assert frames["a.png"].image.shape == (20, 30, 3) and frames["a.png"].error is None
    assert frames["bad.jpg"].image is None and "unreadable image" in frames["bad.jpg"].error
    assert plan.outputs["sub/b.jpg"] == tmp_path / "out" / "sub" / "b.jpg"


def test_a_video_is_planned_from_its_header_and_decoded_lazily(tmp_path):
    frames = [np.full((48, 64, 3), 10 * i, np.uint8) for i in range(5)]
    video = write_video(tmp_path / "clip.mp4", frames)
    plan = open_input(str(video), None, tmp_path / "out", PredictConfig(max_frames=3))
    assert plan.kind == "video" and plan.total == plan.expected_frames == 3 and plan.fps == pytest.approx(10)
    assert plan.video_out == tmp_path / "out" / "clip_pose.mp4"
    assert [(f.frame, f.key) for f in plan.source] == [(0, "0"), (1, "1"), (2, "2")]


def test_inputs_that_cannot_be_opened_are_input_errors_naming_them(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "garbage.mp4").write_bytes(b"not a video")
    for name, problem in (
        ("missing.jpg", "input not found"),
        ("empty", "folder holds no images"),
        ("notes.txt", "not an image"),
        ("garbage.mp4", "unreadable video"),
    ):
        with pytest.raises(InputError, match=problem) as info:
            open_input(str(tmp_path / name), None, None, PredictConfig())
        assert str(tmp_path / name) in str(info.value)
    with pytest.raises(InputError, match="camera 97 could not be opened"):
        open_input(None, 97, None, PredictConfig())


def test_exactly_one_input_and_no_output_over_an_input(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ConfigError, match="exactly one of INPUT"):
        open_input(str(tmp_path / "a.png"), 0, None, PredictConfig())
    with pytest.raises(ConfigError, match="would overwrite the input"):
        open_input(str(tmp_path), None, tmp_path, PredictConfig())
