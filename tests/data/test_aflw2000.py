import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io

from headpose.angles import euler_to_matrix, geodesic_deg, matrix_to_euler
from headpose.data.aflw2000 import read_aflw2000
from headpose.errors import ConfigError, DatasetError
from headpose.synth.landmarks import template_landmarks_68


def _landmarks(center=(100.0, 110.0), px_per_cm=5.0) -> np.ndarray:
    """Frontal template landmarks in image pixels (image y points down, the template's y up)."""
    xy = template_landmarks_68()[:, :2] * [px_per_cm, -px_per_cm]
    return xy + center


def _write_sample(folder: Path, stem: str, pose=(0.1, 0.5, -0.2), **mat) -> None:
    """One AFLW2000-style pair; ``pose`` is (pitch, yaw, roll) radians as in Pose_Para."""
    image = np.full((200, 200, 3), 40, np.uint8)
    image[60:160, 60:140] = 220  # a bright "face" where the landmarks are
    cv2.imwrite(str(folder / f"{stem}.jpg"), image)
    pts = _landmarks()
    content = {
        "Pose_Para": np.array([[*pose, 100.0, 100.0, 0.0, 0.001]], np.float32),
        "pt2d": pts[:21].T,
        "pt3d_68": np.vstack([pts.T, np.zeros((1, 68))]).astype(np.float32),
    }
    content.update(mat)
    scipy.io.savemat(folder / f"{stem}.mat", {k: v for k, v in content.items() if v is not None})


@pytest.fixture
def folder(tmp_path) -> Path:
    for i in range(3):
        _write_sample(tmp_path, f"image{i:05d}")
    return tmp_path


def _corrupt_jpg(d: Path) -> Path:
    _write_sample(d, "bad")
    (d / "bad.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    return d / "bad.jpg"


def _write_sample_mat_only(d: Path, stem: str) -> None:
    _write_sample(d, stem)
    (d / f"{stem}.jpg").unlink()


def _missing_mat(d: Path) -> Path:
    _write_sample(d, "bad")
    (d / "bad.mat").unlink()
    return d / "bad.mat"


def _truncated_mat(d: Path) -> Path:
    _write_sample(d, "bad")
    data = (d / "bad.mat").read_bytes()
    (d / "bad.mat").write_bytes(data[: len(data) // 2])
    return d / "bad.mat"


def _no_pose_para(d: Path) -> Path:
    _write_sample(d, "bad", Pose_Para=None)
    return d / "bad.mat"


def _nan_pose(d: Path) -> Path:
    _write_sample(d, "bad", pose=(0.1, np.nan, 0.0))
    return d / "bad.mat"


def _inf_pose(d: Path) -> Path:
    _write_sample(d, "bad", pose=(np.inf, 0.1, 0.0))
    return d / "bad.mat"


def _no_landmarks(d: Path) -> Path:
    _write_sample(d, "bad", pt3d_68=None, pt2d=-np.ones((2, 21)))
    return d / "bad.mat"


def _missing_image(d: Path) -> Path:
    _write_sample_mat_only(d, "bad")
    return d / "bad.jpg"


BREAKERS = {
    "corrupt image": (_corrupt_jpg, "corrupt or unreadable"),
    "missing .mat": (_missing_mat, "missing"),
    "truncated .mat": (_truncated_mat, "truncated or unreadable"),
    "no Pose_Para": (_no_pose_para, "no Pose_Para"),
    "NaN angle": (_nan_pose, "NaN/inf"),
    "inf angle": (_inf_pose, "NaN/inf"),
    "no landmarks": (_no_landmarks, "landmarks missing"),
    "orphan .mat": (_missing_image, "image file is missing"),
}


def test_labels_follow_pose_para_order_pitch_yaw_roll(tmp_path):
    _write_sample(tmp_path, "image00001", pose=(0.1, 0.5, -0.2))
    faceset, report = read_aflw2000(tmp_path, progress=False)
    row = faceset.labels.iloc[0]
    assert (row.yaw, row.pitch, row.roll) == pytest.approx(np.rad2deg([0.5, 0.1, -0.2]), abs=1e-4)
    assert (row.source, row.subject, row.file) == ("aflw2000", "image00001", str(tmp_path / "image00001.jpg"))
    assert report.empty


def test_crops_and_landmarks_are_centred_on_the_face(folder):
    faceset, _ = read_aflw2000(folder, crop_size=64, margin=0.25, progress=False)
    assert faceset.images.shape == (3, 64, 64, 3) and faceset.images.dtype == np.uint8
    landmarks = faceset.arrays["landmarks"]
    assert landmarks.shape == (3, 68, 2)
    lo, hi = landmarks.min(1), landmarks.max(1)
    assert (lo + hi) / 2 == pytest.approx(np.full((3, 2), 31.5), abs=1.0)
    assert (hi - lo).max(1) == pytest.approx(np.full(3, 64 / 1.5), abs=1.0)
    assert faceset.images[:, 28:36, 28:36].min() > 150  # the bright face, not the background


def test_pt2d_fallback_ignores_missing_points_and_leaves_landmarks_nan(tmp_path):
    pts = _landmarks()[:21].T.copy()
    pts[:, 5] = -1  # AFLW's "missing"
    _write_sample(tmp_path, "image00001", pt3d_68=None, pt2d=pts)
    faceset, report = read_aflw2000(tmp_path, progress=False)
    assert len(faceset) == 1 and report.empty
    assert np.isnan(faceset.arrays["landmarks"]).all()


def test_standard_protocol_excludes_angles_beyond_99_and_reports_them(folder):
    _write_sample(folder, "image00009", pose=(0.0, np.deg2rad(100.0), 0.0))
    faceset, report = read_aflw2000(folder, on_bad_sample="raise", progress=False)  # not an error
    assert len(faceset) == 3
    assert report.to_dict("records") == [
        {
            "file": str(folder / "image00009.jpg"),
            "problem": report.problem[0],
            "kind": "protocol",
        }
    ]
    assert "outside +-99" in report.problem[0] and "aflw2000_standard" in report.problem[0]
    everything, report_all = read_aflw2000(folder, protocol="all", progress=False)
    assert len(everything) == 4 and report_all.empty
    assert everything.labels.yaw.max() == pytest.approx(100.0, abs=1e-3)


@pytest.mark.parametrize("breaker", BREAKERS.values(), ids=BREAKERS.keys())
def test_a_bad_file_raises_naming_file_problem_and_remedy(folder, breaker):
    make, problem = breaker
    bad_file = make(folder)
    with pytest.raises(DatasetError) as err:
        read_aflw2000(folder, on_bad_sample="raise", progress=False)
    message = str(err.value)
    assert message.startswith(f"{bad_file}: ")
    assert problem in message
    assert "on_bad_sample: skip" in message


@pytest.mark.parametrize("breaker", BREAKERS.values(), ids=BREAKERS.keys())
def test_skipping_reports_every_bad_file_and_keeps_the_good_ones(folder, breaker, caplog):
    make, problem = breaker
    bad_file = make(folder)
    with caplog.at_level(logging.WARNING, logger="headpose.data.aflw2000"):
        faceset, report = read_aflw2000(folder, on_bad_sample="skip", progress=False)
    assert len(faceset) == 3
    assert list(report.file) == [str(bad_file)]
    assert problem in report.problem[0] and report.kind[0] == "bad_sample"
    assert "kept 3 of 4" in caplog.text and "1 bad file(s) skipped" in caplog.text


def test_all_bad_files_at_once_are_all_reported(folder):
    for i, (make, _) in enumerate(BREAKERS.values()):
        sub = folder / f"case{i}"
        sub.mkdir()
        make(sub)
        for p in sub.iterdir():
            p.rename(folder / f"{p.stem}{i}{p.suffix}")
        sub.rmdir()
    faceset, report = read_aflw2000(folder, on_bad_sample="skip", progress=False)
    assert len(faceset) == 3
    assert len(report) == len(BREAKERS) and (report.kind == "bad_sample").all()


def test_a_folder_where_nothing_is_usable_is_an_error(tmp_path):
    _write_sample(tmp_path, "image00001", pose=(0.0, np.nan, 0.0))
    with pytest.raises(DatasetError, match="no usable AFLW2000 sample"):
        read_aflw2000(tmp_path, on_bad_sample="skip", progress=False)


def test_empty_or_jpg_less_folders_are_errors_naming_the_folder(tmp_path):
    with pytest.raises(DatasetError, match=f"{tmp_path}: no \\*.jpg"):
        read_aflw2000(tmp_path, progress=False)
    (tmp_path / "image00001.mat").write_bytes(b"")
    with pytest.raises(DatasetError, match=f"{tmp_path}: no \\*.jpg"):
        read_aflw2000(tmp_path, progress=False)
    with pytest.raises(DatasetError, match="not a directory"):
        read_aflw2000(tmp_path / "absent", progress=False)


def test_unknown_options_are_config_errors(folder):
    with pytest.raises(ConfigError, match="protocol"):
        read_aflw2000(folder, protocol="hopenet", progress=False)
    with pytest.raises(ConfigError, match="on_bad_sample"):
        read_aflw2000(folder, on_bad_sample="ignore", progress=False)


# --- the convention proof on real AFLW2000 images -------------------------------------------------

# OpenCV's camera looks down +z with y down; ours has y up and z toward the viewer. F = diag(1,-1,-1)
# (180 deg about x) maps one to the other, so PnP sees the model as F @ X and returns F @ R @ F.
OPENCV_FROM_OURS = np.diag([1.0, -1.0, -1.0])
FOCAL_PER_CROP = 5.0  # the 3DMM fits are near weak-perspective: a long lens (~11 deg field of view)


def _pnp_rotations(landmarks: np.ndarray, crop_size: int) -> np.ndarray:
    """Head rotations in our camera frame recovered by PnP of crop landmarks vs our template."""
    model = template_landmarks_68() @ OPENCV_FROM_OURS
    f, c = FOCAL_PER_CROP * crop_size, crop_size / 2
    k = np.array([[f, 0, c], [0, f, c], [0, 0, 1.0]])
    out = []
    for pts in landmarks.astype(np.float64):
        _, rvec, tvec = cv2.solvePnP(model, pts, k, None, flags=cv2.SOLVEPNP_EPNP)
        _, rvec, tvec = cv2.solvePnP(model, pts, k, None, rvec, tvec, True, cv2.SOLVEPNP_ITERATIVE)
        out.append(OPENCV_FROM_OURS @ cv2.Rodrigues(rvec)[0] @ OPENCV_FROM_OURS)
    return np.array(out)


@pytest.fixture
def dev_set(aflw2000_dev):
    return read_aflw2000(aflw2000_dev, progress=False)


def test_dev_set_reads_cleanly_under_the_standard_protocol(dev_set, aflw2000_dev):
    faceset, report = dev_set
    assert (report.kind == "protocol").all()
    assert len(faceset) + len(report) == len(list(aflw2000_dev.glob("*.jpg")))
    assert (np.abs(faceset.angles) <= 99).all()
    print(
        f"\nAFLW2000 dev: {len(faceset)} of {len(faceset) + len(report)} pass the standard protocol; "
        f"yaw/pitch/roll min {faceset.angles.min(0).round(1)} max {faceset.angles.max(0).round(1)}"
    )


def test_labels_agree_with_pnp_of_the_landmarks_on_our_head_template(dev_set):
    faceset, _ = dev_set
    rotations = _pnp_rotations(faceset.arrays["landmarks"], faceset.images.shape[1])
    labels = faceset.angles
    error = geodesic_deg(rotations, euler_to_matrix(*labels.T))
    per_angle = np.abs(matrix_to_euler(rotations) - labels)
    flipped_yaw = geodesic_deg(rotations, euler_to_matrix(-labels[:, 0], labels[:, 1], labels[:, 2]))
    print(
        f"\nPnP vs labels on {len(labels)} real faces: median geodesic {np.median(error):.2f} deg, "
        f"median |error| yaw {np.median(per_angle[:, 0]):.2f} pitch {np.median(per_angle[:, 1]):.2f} "
        f"roll {np.median(per_angle[:, 2]):.2f}; with yaw negated: {np.median(flipped_yaw):.1f} deg"
    )
    assert np.median(error) < 8.0
    assert np.median(per_angle, 0) == pytest.approx([0, 0, 0], abs=6.0)
    assert np.median(flipped_yaw) > 3 * np.median(error)  # the test can tell a sign error apart


def test_300w_lp_layout_reads_subfolders_and_groups_views_of_one_photo(tmp_path):
    import cv2
    import scipy.io

    from headpose.data.aflw2000 import read_aflw2000

    pts = np.stack([np.linspace(40, 90, 68), np.linspace(40, 90, 68), np.zeros(68)])
    for folder, stem in (
        ("AFW", "AFW_1051618982_1_0"),
        ("AFW", "AFW_1051618982_1_1"),
        ("HELEN", "HELEN_232194_1_0"),
    ):
        (tmp_path / folder).mkdir(exist_ok=True)
        cv2.imwrite(str(tmp_path / folder / f"{stem}.jpg"), np.full((128, 128, 3), 128, np.uint8))
        scipy.io.savemat(
            tmp_path / folder / f"{stem}.mat",
            {"Pose_Para": np.array([[0.1, 0.2, 0.0, 0, 0, 0, 1]]), "pt3d_68": pts},
        )
    (tmp_path / "landmarks").mkdir()  # 300W-LP ships landmark .mat files here: not samples
    scipy.io.savemat(tmp_path / "landmarks" / "x.mat", {"pts_2d": pts[:2].T})
    faces, report = read_aflw2000(tmp_path, crop_size=32, layout="300w_lp", progress=False)
    assert len(faces) == 3 and len(report) == 0
    assert sorted(faces.labels["subject"]) == [
        "AFW/AFW_1051618982_1",
        "AFW/AFW_1051618982_1",
        "HELEN/HELEN_232194_1",
    ]


def test_zero_byte_image_is_a_bad_sample_naming_the_file(tmp_path):
    from headpose.data.aflw2000 import BadSample, read_rgb

    empty = tmp_path / "image00001.jpg"
    empty.write_bytes(b"")
    with pytest.raises(BadSample, match="image00001.jpg"):
        read_rgb(empty)
