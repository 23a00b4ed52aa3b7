import cv2
import numpy as np
import pytest
import scipy.io

from headpose.data.aflw2000 import read_rgb
from headpose.data.crops import box_from_landmarks
from headpose.errors import ConfigError
from headpose.inference.detect import create_detector
from headpose.inference.dlib_detector import DLIB_MAPPING, DlibHogDetector
from headpose.inference.smoothing import iou_matrix


def test_impossible_dlib_knobs_name_their_key():
    with pytest.raises(ConfigError, match=r"dlib.max_side: 0 is outside \[1, inf\]"):
        DlibHogDetector(max_side=0)


def test_dlib_finds_a_real_face_and_none_in_a_blank_image(clip):
    capture = cv2.VideoCapture(str(clip))
    ok, bgr = capture.read()
    capture.release()
    assert ok
    detector = create_detector("dlib")
    (face,) = detector.detect(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), "0")
    x0, y0, x1, y1 = face.box
    assert 120 < (x0 + x1) / 2 < 280 and 100 < (y0 + y1) / 2 < 250 and 60 < x1 - x0 < 200
    assert 0.5 < face.score <= 1.0
    assert detector.detect(np.full((300, 400, 3), 128, np.uint8), "blank") == []


def test_dlib_detects_large_images_on_a_downscaled_copy(clip):
    capture = cv2.VideoCapture(str(clip))
    _, bgr = capture.read()
    capture.release()
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    big = cv2.resize(rgb, None, fx=4, fy=4, interpolation=cv2.INTER_LINEAR)
    detector = DlibHogDetector(max_side=400)
    (small_face,), (big_face,) = detector.detect(rgb, "a"), detector.detect(big, "b")
    np.testing.assert_allclose(np.array(big_face.box) / 4, small_face.box, atol=2)


def test_dlib_crop_mapping_reproduces_the_landmark_crops_of_training(aflw2000_dev):
    """The documented dlib -> crop mapping lands on box_from_landmarks' crop for near-frontal faces."""
    detector, ious = DlibHogDetector(), []
    for mat_path in sorted(aflw2000_dev.glob("*.mat"))[:40]:
        mat = scipy.io.loadmat(mat_path)
        pitch, yaw = np.rad2deg(mat["Pose_Para"][0, :2])
        if abs(yaw) > 30 or abs(pitch) > 30:
            continue
        truth = box_from_landmarks(mat["pt3d_68"][:2].T)
        faces = detector.detect(read_rgb(mat_path.with_suffix(".jpg")), mat_path.stem)
        if faces:
            crops = np.array([DLIB_MAPPING.crop_box(f.box) for f in faces])
            ious.append(iou_matrix(crops, truth[None]).max())
    assert len(ious) >= 10
    assert np.median(ious) > 0.72  # measured 0.79; a crop without the training margin scores ~0.46
