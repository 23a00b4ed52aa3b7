import json
from pathlib import Path

import numpy as np
import pytest

from headpose.errors import InputError
from headpose.inference.frames import Frame, Plan
from headpose.inference.sinks import Sink, failures_path


def test_failures_go_where_asked_else_beside_the_outputs():
    assert failures_path("bad.jsonl", Path("out"), "faces.jsonl") == Path("bad.jsonl")
    assert failures_path(None, Path("out"), "faces.jsonl") == Path("out/failures.jsonl")
    assert failures_path(None, None, "runs/faces.jsonl") == Path("runs/faces.failures.jsonl")
    assert failures_path(None, None, "-") is None and failures_path(None, None, None) is None


def face_frame(key: str, yaw: float) -> Frame:
    return Frame(
        key,
        0,
        key,
        boxes=np.array([[0.0, 0.0, 10.0, 10.0]]),
        crop_boxes=np.array([[-1.0, -1, 11, 11]]),
        scores=[0.9],
        raw_angles=np.array([[yaw, 0.0, 0.0]]),
        angles=np.array([[yaw, 0.0, 0.0]]),
        face_ids=[0],
    )


def test_sink_writes_one_line_per_face_and_a_failure_per_faceless_image(tmp_path):
    plan = Plan("images", "in", iter(()), 2)
    with Sink(plan, tmp_path / "p.jsonl", "whole", False, "mp4v", tmp_path / "bad.jsonl") as sink:
        sink.write(face_frame("a.png", 12.3456))
        sink.write(Frame("b.png", 0, "b.png"))
        sink.check()
    (row,) = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert row["file"] == "a.png" and row["yaw"] == 12.346 and row["detector"] == "whole" and "raw" not in row
    (failure,) = [json.loads(line) for line in (tmp_path / "bad.jsonl").read_text().splitlines()]
    assert failure["file"] == "b.png" and "no face found by the whole detector" in failure["error"]
    assert sink.report()["faces"] == 1 and sink.report()["failures"] == 1


def test_a_run_where_every_image_failed_raises_and_writes_nothing(tmp_path):
    plan = Plan("images", "in", iter(()), 1)
    with pytest.raises(InputError, match="all 1 images failed: b.png: unreadable"):
        with Sink(plan, tmp_path / "p.jsonl", "whole", False, "mp4v") as sink:
            sink.write(Frame("b.png", 0, "b.png", error="b.png: unreadable image"))
            sink.check()
    assert not (tmp_path / "p.jsonl").exists()
