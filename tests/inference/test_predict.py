import json
import threading

import cv2
import numpy as np
import pytest

from headpose.data.crops import crop_resize
from headpose.data.preprocess import to_model_input
from headpose.deploy.runtime import load_model
from headpose.errors import HeadposeError, InputError
from headpose.inference.config import PredictConfig
from headpose.inference.detection import CropMapping, Detection
from headpose.inference.predict import predict
from tests.inference.conftest import read_video


def boxes_file(tmp_path, boxes):
    path = tmp_path / "boxes.json"
    path.write_text(json.dumps({str(i): [list(map(float, b))] for i, b in enumerate(boxes)}))
    return str(path)


def read_lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_video_gives_one_row_per_frame_in_order_and_a_full_annotated_video(
    tmp_path, tiny_onnx, head_video, head_turn
):
    frames, boxes = head_turn
    out = tmp_path / "out"
    summary = predict(
        str(head_video),
        str(tiny_onnx),
        out_dir=out,
        jsonl=tmp_path / "p.jsonl",
        config=PredictConfig(boxes=boxes_file(tmp_path, boxes)),
        progress=False,
    )
    rows = read_lines(tmp_path / "p.jsonl")
    assert [r["frame"] for r in rows] == list(range(len(frames)))
    assert {r["face"] for r in rows} == {0}  # one track through the whole turn
    assert summary["frames"] == summary["faces"] == summary["frames_with_faces"] == len(frames)
    assert summary["smoothing"] and all("raw" in r for r in rows)
    for row in rows:
        assert set(row) >= {"file", "frame", "box", "yaw", "pitch", "roll", "confidence"}
    np.testing.assert_allclose([r["box"] for r in rows], boxes, atol=0.01)
    written = read_video(out / "head_turn_pose.mp4")
    assert len(written) == len(frames) and written[0].shape == frames[0].shape
    assert set(summary["stage_busy_s"]) >= {"source", "detect", "crop", "infer", "track", "draw", "write"}
    assert not list(out.glob(".*"))  # no temporary files left behind


def test_reported_angles_are_the_model_on_the_training_style_crop(tmp_path, tiny_onnx, head_video, head_turn):
    frames, boxes = head_turn
    predict(
        str(head_video),
        str(tiny_onnx),
        jsonl=tmp_path / "p.jsonl",
        config=PredictConfig(boxes=boxes_file(tmp_path, boxes), smooth=False),
        progress=False,
    )
    rows = read_lines(tmp_path / "p.jsonl")
    assert "raw" not in rows[0]
    model = load_model(str(tiny_onnx))
    decoded = [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in read_video(head_video)]
    mapping = CropMapping()  # --boxes: landmark-like boxes + the training margin
    crops = np.stack(
        [crop_resize(im, mapping.crop_box(b), model.input_size) for im, b in zip(decoded, boxes, strict=True)]
    )
    expected = model.predict(to_model_input(crops, model.input_size))
    np.testing.assert_allclose([[r["yaw"], r["pitch"], r["roll"]] for r in rows], expected, atol=2e-3)
    np.testing.assert_allclose([r["crop_box"] for r in rows], [mapping.crop_box(b) for b in boxes], atol=0.01)


def test_smoothing_changes_reported_angles_only_when_on(tmp_path, tiny_onnx, head_video, head_turn):
    _, boxes = head_turn
    predict(
        str(head_video),
        str(tiny_onnx),
        jsonl=tmp_path / "s.jsonl",
        config=PredictConfig(boxes=boxes_file(tmp_path, boxes)),
        progress=False,
    )
    rows = read_lines(tmp_path / "s.jsonl")
    raw = np.array([r["raw"] for r in rows])
    smoothed = np.array([[r["yaw"], r["pitch"], r["roll"]] for r in rows])
    np.testing.assert_allclose(smoothed[0], raw[0], atol=2e-3)  # a track starts at its first value
    assert np.abs(np.diff(smoothed, axis=0)).sum() < np.abs(np.diff(raw, axis=0)).sum()


def test_empty_and_unreadable_videos_fail_clearly(tmp_path, tiny_onnx):
    empty = tmp_path / "empty.mp4"
    writer = cv2.VideoWriter(str(empty), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    writer.release()
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"not a video at all" * 10)
    for path in (empty, garbage):
        with pytest.raises(InputError, match="video|frames") as info:
            predict(str(path), str(tiny_onnx), jsonl=tmp_path / "x.jsonl", progress=False)
        assert str(path) in str(info.value)
    assert not (tmp_path / "x.jsonl").exists()


class InterruptAt:
    """A detector that raises what Ctrl-C raises, on one frame: the run must stop and leave nothing."""

    name, mapping = "interrupting", CropMapping()

    def __init__(self, frame: str) -> None:
        self.frame = frame

    def detect(self, image, key):
        if key == self.frame:
            raise KeyboardInterrupt
        h, w = image.shape[:2]
        return [Detection((0.0, 0.0, float(w), float(h)))]


def test_ctrl_c_stops_the_run_and_discards_partial_outputs(tmp_path, tiny_onnx, head_video, monkeypatch):
    import headpose.inference.predict as predict_module

    monkeypatch.setattr(predict_module, "create_detector", lambda name: InterruptAt("12"))
    out = tmp_path / "out"
    with pytest.raises(HeadposeError, match="interrupted after"):
        predict(str(head_video), str(tiny_onnx), out_dir=out, jsonl=tmp_path / "p.jsonl", progress=False)
    assert not (tmp_path / "p.jsonl").exists()
    assert not out.exists() or not any(out.iterdir())
    assert not [t for t in threading.enumerate() if t.name.startswith("pipeline-")]


def test_parallel_detection_matches_serial_detection(tmp_path, tiny_onnx, clip):
    """dlib's detector is not thread-safe: each detecting thread must get its own."""
    runs = {}
    for workers in (1, 3):
        out = tmp_path / f"w{workers}.jsonl"
        predict(
            str(clip),
            str(tiny_onnx),
            jsonl=out,
            progress=False,
            config=PredictConfig(detect_workers=workers, max_frames=150, smooth=False),
        )
        runs[workers] = read_lines(out)
    assert [r["frame"] for r in runs[3]] == list(range(150))
    key = lambda rows: [(r["frame"], r["box"], r["yaw"]) for r in rows]  # noqa: E731
    assert key(runs[3]) == key(runs[1])
