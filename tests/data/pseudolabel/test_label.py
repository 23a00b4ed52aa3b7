"""One photo through the labeller, with a scripted teacher (no model): statuses, ranking, crops."""

from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from headpose.data.pseudolabel.config import PseudolabelConfig
from headpose.data.pseudolabel.label import REPORT_COLUMNS, Photo, label_photo
from headpose.synth.landmarks import MESH_INDEX_68


def face(x0: float, side: float, angles=(10.0, -5.0, 2.0), presence=0.9) -> SimpleNamespace:
    """A teacher label whose 478 landmarks fill the square [x0, x0 + side] (x and y)."""
    points = np.random.default_rng(int(x0)).uniform(0, 1, (478, 3)) * [side, side, 10.0] + [x0, x0, 0.0]
    return SimpleNamespace(
        landmarks=points,
        detector_score=0.9,
        presence=presence,
        residual=0.5,
        angles=np.array(angles),
        raw_angles=np.array(angles) + 1.0,
    )


class ScriptedTeacher:
    name, version = "scripted", "1"

    def __init__(self, faces: list) -> None:
        self.faces = faces

    def label_image(self, image: np.ndarray, max_faces: int | None = None) -> list:
        return self.faces


@pytest.fixture
def photo(tmp_path) -> Photo:
    (tmp_path / "ann").mkdir()
    cv2.imwrite(str(tmp_path / "ann" / "one.jpg"), np.full((200, 200, 3), 120, np.uint8))
    return Photo("p", tmp_path, "ann/one.jpg")


def _label(photo: Photo, faces: list, subject: str = "parent", **params):
    config = PseudolabelConfig.from_dict(
        {"pools": {"p": {"root": str(photo.root), "subject": subject}}, **params}
    )
    return label_photo(ScriptedTeacher(faces), config, photo)


def test_a_kept_face_gives_a_crop_its_landmarks_and_a_provenance_row(photo):
    result = _label(photo, [face(40, 100)], image_size=64)
    assert set(result.report) == set(REPORT_COLUMNS) and result.report["status"] == "kept"
    assert result.report["faces"] == 1 and result.report["face_px"] == pytest.approx(100, abs=2)
    assert result.crops[0].shape == (64, 64, 3) and result.landmarks[0].shape == (478, 3)
    lm68 = result.landmarks[0][MESH_INDEX_68, :2]
    assert lm68.min() > -0.5 and lm68.max() < 63.5
    row = result.rows[0]
    assert row["subject"] == "p:ann" and row["source"] == "pseudolabel:p" and row["teacher"] == "scripted"
    assert (row["yaw"], row["raw_yaw"]) == (10.0, 11.0)


@pytest.mark.parametrize(
    "faces, subject, status",
    [
        ([face(40, 100)], r"^(\d+)/", "no_subject"),
        ([], "parent", "no_face"),
        ([face(40, 100, presence=0.1)], "parent", "presence"),
        ([face(40, 20)], "parent", "face_px"),
        ([face(40, 100, angles=(120.0, 0.0, 0.0))], "parent", "yaw"),
    ],
)
def test_a_dropped_photo_says_why_and_keeps_no_crop(photo, faces, subject, status):
    result = _label(photo, faces, subject=subject)
    assert result.report["status"] == status and result.report["detail"]
    assert result.report["faces"] == 0 and not result.crops and not result.rows


def test_an_unreadable_file_is_reported(photo):
    (photo.root / photo.file).write_bytes(b"not a jpeg")
    assert _label(photo, [face(40, 100)]).report["status"] == "unreadable"


def test_passing_faces_come_first_largest_first_up_to_the_limit(photo):
    faces = [face(10, 50), face(60, 30, presence=0.1), face(90, 80)]  # the largest one fails
    result = _label(photo, faces, max_faces_per_image=3)
    assert [row["face"] for row in result.rows] == [0, 1]
    assert [round(row["face_px"]) for row in result.rows] == [80, 50]  # the failing face ends the list
    assert result.report["face_px"] == result.rows[0]["face_px"]  # the report describes the best face
    assert len(_label(photo, faces).rows) == 1  # max_faces_per_image: 1
