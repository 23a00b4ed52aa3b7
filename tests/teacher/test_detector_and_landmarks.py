"""BlazeFace decoding and the landmark ROI, then the whole teacher on real and rendered faces."""

import numpy as np
import pytest
import scipy.io

from headpose.angles import euler_to_matrix, geodesic_deg
from headpose.data.aflw2000 import read_rgb
from headpose.data.crops import box_from_landmarks
from headpose.errors import ModelError
from headpose.synth.generate import generate
from headpose.teacher.blazeface import BlazeFaceDetector, anchors, letterbox, weighted_nms
from headpose.teacher.landmarker import INPUT_SIZE, Roi
from headpose.teacher.teacher import MediaPipeTeacher
from headpose.teacher.tflite import TFLiteModel


@pytest.fixture(scope="module")
def teacher() -> MediaPipeTeacher:
    return MediaPipeTeacher()


def test_anchors_follow_the_short_range_ssd_layout():
    grid = anchors()
    assert grid.shape == (896, 2)
    np.testing.assert_allclose(grid[:2], [[0.5 / 16, 0.5 / 16]] * 2)  # 16 x 16 grid, 2 per cell
    np.testing.assert_allclose(grid[512:518], [[0.5 / 8, 0.5 / 8]] * 6)  # 8 x 8 grid, 6 per cell


def test_letterbox_keeps_aspect_and_centres_the_image():
    tensor, scale, pad = letterbox(np.full((100, 200, 3), 255, np.uint8))
    assert tensor.shape == (1, 128, 128, 3) and scale == pytest.approx(0.64)
    assert pad.tolist() == [0, 32]
    assert tensor[0, 40, 64].tolist() == [1.0, 1.0, 1.0] and tensor[0, 10, 64].tolist() == [-1.0, -1.0, -1.0]


def test_weighted_nms_merges_overlaps_by_score():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], np.float32)
    kps = np.zeros((3, 6, 2), np.float32)
    merged = weighted_nms(boxes, kps, np.array([0.9, 0.3, 0.8]), iou_threshold=0.3)
    assert len(merged) == 2
    np.testing.assert_allclose(merged[0][0], [0.25, 0, 10.25, 10])
    assert merged[0][2] == pytest.approx(0.9)


def test_roi_maps_its_centre_and_turns_with_its_angle():
    roi = Roi((100.0, 50.0), 64.0, np.pi / 2)
    affine = roi.to_image()
    centre = affine @ np.array([INPUT_SIZE / 2, INPUT_SIZE / 2, 1.0])
    right = affine @ np.array([INPUT_SIZE, INPUT_SIZE / 2, 1.0])
    np.testing.assert_allclose(centre, [100, 50])
    np.testing.assert_allclose(right, [100, 82], atol=1e-9)  # ROI x axis points down the image at 90 deg


def test_no_face_in_a_blank_image():
    assert BlazeFaceDetector().detect(np.full((240, 320, 3), 127, np.uint8)) == []


def test_teacher_reads_the_pose_of_rendered_heads(teacher):
    """Renders have exact poses; moderate ones are read to within a few degrees."""
    faces = generate(
        {
            "num_images": 12,
            "image_size": 128,
            "seed": 3,
            "yaw_range": [-40, 40],
            "pitch_range": [-20, 20],
            "roll_range": [-15, 15],
            "large_angle_fraction": 0.0,
            "occlusion_probability": 0.0,
            "workers": 1,
        }
    )
    roi = Roi((64.0, 64.0), 128 * 1.6 / 1.5)
    errors = [
        geodesic_deg(teacher.label_roi(image, roi).fit.rotation, euler_to_matrix(*ypr))
        for image, ypr in zip(faces.images, faces.angles, strict=True)
    ]
    assert np.median(errors) < 12.0


def test_teacher_on_real_faces_finds_them_and_reads_their_pose(teacher, aflw2000_dev):
    errors, found = [], []
    for mat_path in sorted(aflw2000_dev.glob("*.mat"))[:20]:
        mat = scipy.io.loadmat(mat_path)
        pitch, yaw, roll = np.rad2deg(mat["Pose_Para"][0, :3])
        image, landmarks = read_rgb(mat_path.with_suffix(".jpg")), mat["pt3d_68"][:2].T
        if max(abs(yaw), abs(pitch), abs(roll)) > 60:
            continue
        errors.append(np.abs(teacher.label_crop_box(image, landmarks).angles - [yaw, pitch, roll]).mean())
        labels = teacher.label_image(image)
        truth = box_from_landmarks(landmarks, 0)
        found.append(bool(labels) and _iou(labels[0].box, truth) > 0.3)
    assert len(errors) >= 10
    assert np.mean(errors) < 6.0
    assert np.mean(found) >= 0.9


def _iou(a, b) -> float:
    lo, hi = np.maximum(a[:2], b[:2]), np.minimum(a[2:], b[2:])
    inter = np.clip(hi - lo, 0, None).prod()
    return float(inter / ((a[2:] - a[:2]).prod() + (b[2:] - b[:2]).prod() - inter))


def test_a_missing_mediapipe_model_file_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="missing.tflite: MediaPipe model file not found"):
        TFLiteModel(tmp_path / "missing.tflite")
