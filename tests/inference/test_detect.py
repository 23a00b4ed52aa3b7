import json

import numpy as np
import pytest

from headpose.errors import ConfigError, InputError
from headpose.inference.detect import BoxesDetector, WholeImageDetector, create_detector, load_boxes


def test_whole_image_detector_crops_the_whole_image():
    detector = WholeImageDetector()
    (face,) = detector.detect(np.zeros((60, 80, 3), np.uint8), "x")
    np.testing.assert_allclose(detector.mapping.crop_box(face.box), [0, -10, 80, 70])  # square, padded


def test_boxes_file_round_trip_and_lookup(tmp_path):
    path = tmp_path / "boxes.json"
    path.write_text(json.dumps({"a.jpg": [[1, 2, 30, 40], [50, 50, 90, 95, 0.7]], "3": []}))
    boxes = load_boxes(path)
    detector = BoxesDetector(boxes)
    faces = detector.detect(np.zeros((10, 10, 3), np.uint8), "a.jpg")
    assert [f.box for f in faces] == [(1, 2, 30, 40), (50, 50, 90, 95)]
    assert [f.score for f in faces] == [1.0, 0.7]
    assert detector.detect(np.zeros((10, 10, 3), np.uint8), "missing.jpg") == []


@pytest.mark.parametrize(
    "content, problem",
    [
        ('{"a.jpg": [[10, 10, 5, 20]]}', "bad box"),
        ('{"a.jpg": [[10, 10, "x", 20]]}', "bad box"),
        ('{"a.jpg": [1, 2, 3, 4]}', "bad box"),
        ('{"a.jpg": "box"}', "must be a list"),
        ("[[1, 2, 3, 4]]", "expected a JSON object"),
        ("{not json", "not a readable JSON"),
    ],
)
def test_bad_boxes_files_name_the_file_and_the_problem(tmp_path, content, problem):
    path = tmp_path / "boxes.json"
    path.write_text(content)
    with pytest.raises(InputError, match=problem) as info:
        load_boxes(path)
    assert str(path) in str(info.value)


def test_missing_boxes_file_and_unknown_detector():
    with pytest.raises(InputError, match="not found"):
        load_boxes("/nonexistent/boxes.json")
    with pytest.raises(ConfigError, match="unknown face detector"):
        create_detector("haar")
