import shutil

import cv2
import numpy as np
import pytest
import scipy.io

from headpose.angles import aflw_pose_para_to_ypr, euler_to_matrix
from headpose.data.crops import box_from_landmarks, snap_box, to_crop_coords
from headpose.data.pseudolabel.label import REPORT_COLUMNS
from headpose.data.pseudolabel.pools import pseudolabel_pools
from headpose.errors import ConfigError, DatasetError
from headpose.synth.generate import generate
from headpose.synth.landmarks import MESH_INDEX_68
from tests.data.conftest import HEADS
from tests.data.pseudolabel.conftest import pool_config

PROVENANCE = [
    "yaw",
    "pitch",
    "roll",
    "raw_yaw",
    "raw_pitch",
    "raw_roll",
    "source",
    "subject",
    "file",
    "pool",
    "teacher",
    "teacher_version",
    "detector_score",
    "presence",
    "residual",
]


def test_every_photo_gets_a_status_and_heads_get_teacher_poses(pool, labelled, teacher):
    _, truth = pool
    faces, report = labelled
    assert list(report.columns) == REPORT_COLUMNS
    status = report.set_index("file")["status"]
    assert len(status) == len(truth) + 2
    assert status["broken/corrupt.jpg"] == "unreadable"
    assert "could not decode" in report.set_index("file").loc["broken/corrupt.jpg", "detail"]
    assert status["broken/gray.jpg"] == "no_face"
    assert (status[truth.index] == "kept").all()  # the grayscale head0 too
    assert report.faces.sum() == len(faces) == len(truth)

    labels = faces.labels.set_index("file")
    assert set(PROVENANCE) <= set(faces.labels.columns)
    assert (faces.labels.source == "pseudolabel:synth").all()
    assert labels.loc["person1/head3.jpg", "subject"] == "synth:person1"
    assert (faces.labels.teacher == teacher.name).all()
    assert (faces.labels.teacher_version == teacher.version).all()
    error = np.abs(labels.loc[truth.index, ["yaw", "pitch", "roll"]].to_numpy() - truth.to_numpy())
    assert error.mean() < 8 and error.max() < 20, error
    assert (np.sign(labels.loc[truth.index, "yaw"]) == np.sign(truth["yaw"])).all()
    np.testing.assert_allclose(
        labels[["raw_yaw", "raw_pitch", "raw_roll"]].to_numpy(), labels[["yaw", "pitch", "roll"]].to_numpy()
    )  # no calibration
    np.testing.assert_allclose(faces.arrays["rotation"], euler_to_matrix(*faces.angles.T), atol=1e-5)


def test_landmarks_are_in_crop_pixels_and_frame_the_crop_like_training_crops(pool, labelled, teacher):
    root, _ = pool
    faces, _ = labelled
    size = faces.images.shape[1]
    assert faces.images.shape[1:] == (128, 128, 3)
    lm478, lm68 = faces.arrays["landmarks_478"], faces.arrays["landmarks"]
    assert lm478.shape == (len(faces), 478, 3) and lm68.shape == (len(faces), 68, 2)
    np.testing.assert_array_equal(lm68, lm478[:, MESH_INDEX_68, :2])
    assert (lm68 > -0.5).all() and (lm68 < size - 0.5).all()
    for pts in lm68:  # the 68-point box with the crop margin is the crop itself (its pixel edges)
        np.testing.assert_allclose(box_from_landmarks(pts, 0.25), [0, 0, size, size], atol=1.0)

    # One face against the teacher's image-pixel landmarks: x, y through the crop box, z scaled alike.
    file = faces.labels.file[3]
    image = cv2.cvtColor(cv2.imread(str(root / file)), cv2.COLOR_BGR2RGB)
    image_points = teacher.label_image(image)[0].landmarks
    box = box_from_landmarks(image_points[MESH_INDEX_68, :2], 0.25)
    x0, _, x1, _ = snap_box(box)
    np.testing.assert_allclose(lm478[3, :, :2], to_crop_coords(image_points[:, :2], box, size), atol=1e-3)
    np.testing.assert_allclose(lm478[3, :, 2], image_points[:, 2] * size / (x1 - x0), atol=1e-3)


def test_workers_give_the_same_output_as_one_process(pool, labelled, teacher):
    root, _ = pool
    faces, report = labelled
    faces2, report2 = pseudolabel_pools(pool_config(root, workers=2), teacher, progress=False)
    assert report2.equals(report) and faces2.labels.equals(faces.labels)
    np.testing.assert_array_equal(faces2.images, faces.images)
    for key, array in faces.arrays.items():
        np.testing.assert_array_equal(faces2.arrays[key], array)


def test_thresholds_drop_faces_with_their_reason(pool, labelled, teacher):
    root, _ = pool
    _, report = pseudolabel_pools(pool_config(root, thresholds={"max_abs_yaw": 30}), teacher, progress=False)
    heads = report[report.file.str.startswith("person")]
    dropped, kept = heads[heads.status == "yaw"], heads[heads.status == "kept"]
    assert len(dropped) and len(kept) and len(dropped) + len(kept) == len(heads)
    assert (dropped.yaw.abs() > 30).all() and (kept.yaw.abs() <= 30).all()
    assert dropped.detail.str.contains(r"\|yaw\| .* > 30 deg").all()

    with pytest.raises(DatasetError, match="no face kept.*'residual': 6"):
        pseudolabel_pools(pool_config(root, thresholds={"max_residual": 0.01}), teacher, progress=False)


def test_several_faces_per_photo_largest_first_sharing_the_subject(tmp_path, teacher):
    heads = generate(HEADS, workers=1, progress=False)
    canvas = np.full((160, 300, 3), 90, np.uint8)
    canvas[:, :160] = heads.images[2]
    canvas[25:135, 175:285] = cv2.resize(heads.images[1], (110, 110), interpolation=cv2.INTER_AREA)
    (tmp_path / "group").mkdir()
    cv2.imwrite(str(tmp_path / "group" / "two.jpg"), cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))

    one, report = pseudolabel_pools(pool_config(tmp_path), teacher, progress=False)
    two, report2 = pseudolabel_pools(pool_config(tmp_path, max_faces_per_image=2), teacher, progress=False)
    assert len(one) == 1 and report.faces.tolist() == [1]
    assert len(two) == 2 and report2.faces.tolist() == [2] and two.labels.face.tolist() == [0, 1]
    assert two.labels.face_px[0] > two.labels.face_px[1] and one.labels.face_px[0] == two.labels.face_px[0]
    assert two.labels.subject.nunique() == 1


def test_real_photos_are_labelled_near_their_ground_truth(tmp_path, aflw2000_dev, teacher):
    pool = tmp_path / "people" / "someone"
    pool.mkdir(parents=True)
    truth = {}
    for jpg in sorted(aflw2000_dev.glob("*.jpg")):
        ypr = aflw_pose_para_to_ypr(scipy.io.loadmat(jpg.with_suffix(".mat"))["Pose_Para"].ravel()[:3])
        if np.abs(ypr).max() < 40:
            shutil.copy(jpg, pool)
            truth[f"someone/{jpg.name}"] = ypr
        if len(truth) == 4:
            break
    (pool / "corrupt.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    cv2.imwrite(str(pool / "flat.jpg"), np.full((300, 300, 3), 128, np.uint8))

    faces, report = pseudolabel_pools(pool_config(tmp_path / "people"), teacher, progress=False)
    status = report.set_index("file").status
    assert status["someone/corrupt.jpg"] == "unreadable" and status["someone/flat.jpg"] == "no_face"
    assert sorted(faces.labels.file) == sorted(truth)
    error = np.abs(faces.angles - np.array([truth[f] for f in faces.labels.file]))
    assert error.mean() < 10, error
    for pts in faces.arrays["landmarks"]:
        np.testing.assert_allclose(box_from_landmarks(pts, 0.25), [0, 0, 128, 128], atol=1.0)


def test_limit_spreads_over_the_sorted_photos(pool, teacher):
    root, _ = pool
    _, report = pseudolabel_pools(pool_config(root, limit=4), teacher, progress=False)
    assert report.file.tolist() == [
        "broken/corrupt.jpg",
        "person0/head0.jpg",
        "person0/head4.jpg",
        "person1/head3.jpg",
    ]


def test_no_pools_and_missing_folders_are_errors(tmp_path):
    with pytest.raises(ConfigError, match="no pools configured"):
        pseudolabel_pools({"pools": {}})  # the pipeline node skips the call instead
    with pytest.raises(DatasetError, match="is not a directory"):
        pseudolabel_pools(pool_config(tmp_path / "missing"))
    with pytest.raises(DatasetError, match=r"no file matches pattern '\*\*/\*.jpg'"):
        pseudolabel_pools(pool_config(tmp_path))
