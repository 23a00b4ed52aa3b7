import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from headpose.angles import euler_to_matrix
from headpose.data.biwi import read_biwi
from headpose.errors import ConfigError, DatasetError

K = np.array([[517.679, 0, 320], [0, 517.679, 240.5], [0, 0, 1]])
EXT_R = cv2.Rodrigues(np.array([0.015, -0.009, 0.004]))[0]  # depth -> RGB, as small as BIWI's
EXT_T = np.array([-24.0528, -0.0729218, -9.82025])
CENTRE = np.array([40.0, 30.0, 900.0])  # head centre, mm, depth camera frame
BOX_MM = 250.0
YPR = (30.0, -15.0, 10.0)
DEPTH_FROM_OURS = np.diag([1.0, -1.0, -1.0])


def _rx(deg):
    return cv2.Rodrigues(np.array([np.deg2rad(deg), 0, 0]))[0]


def _ry(deg):
    return cv2.Rodrigues(np.array([0, np.deg2rad(deg), 0]))[0]


def _rz(deg):
    return cv2.Rodrigues(np.array([0, 0, np.deg2rad(deg)]))[0]


def _rows(*matrices) -> str:
    return (
        "\n\n".join(
            "\n".join(" ".join(f"{v:.6f}" for v in row) + " " for row in np.atleast_2d(m)) for m in matrices
        )
        + "\n"
    )


def _projected_centre(centre=CENTRE) -> tuple[np.ndarray, float]:
    p = EXT_R @ centre + EXT_T
    return (K @ (p / p[2]))[:2], K[0, 0] * BOX_MM / p[2]


def _write_frame(seq: Path, n: int, rotation=None, centre=CENTRE) -> Path:
    """A frame whose image is dark except a bright square half the head box wide at the head centre."""
    rotation = DEPTH_FROM_OURS @ euler_to_matrix(*YPR) @ DEPTH_FROM_OURS if rotation is None else rotation
    (seq / f"frame_{n:05d}_pose.txt").write_text(_rows(rotation, centre))
    image = np.full((480, 640, 3), 30, np.uint8)
    (u, v), side = _projected_centre()
    image[round(v - side / 4) : round(v + side / 4), round(u - side / 4) : round(u + side / 4)] = 230
    cv2.imwrite(str(seq / f"frame_{n:05d}_rgb.png"), image)
    return seq / f"frame_{n:05d}_rgb.png"


def _sequence(root: Path, name: str, frames: int = 3) -> Path:
    seq = root / name
    seq.mkdir()
    (seq / "rgb.cal").write_text(_rows(K, [0, 0, 0, 0], EXT_R, EXT_T, [640, 480]))
    for n in range(3, 3 + frames):
        _write_frame(seq, n)
    return seq


@pytest.fixture
def root(tmp_path) -> Path:
    _sequence(tmp_path, "01")
    return tmp_path


def _hopenet_ypr(rotation: np.ndarray) -> np.ndarray:
    """The Hopenet / FSA-Net / 6DRepNet BIWI formula, written independently of angles.py."""
    r = rotation.T
    roll = -np.arctan2(r[1, 0], r[0, 0])
    yaw = -np.arctan2(-r[2, 0], np.sqrt(r[2, 1] ** 2 + r[2, 2] ** 2))
    pitch = np.arctan2(r[2, 1], r[2, 2])
    return np.rad2deg([yaw, pitch, roll])


def test_reads_labels_in_our_convention_with_provenance(root):
    faceset, report = read_biwi(root, progress=False)
    assert len(faceset) == 3 and report.empty
    assert faceset.angles == pytest.approx(np.tile(YPR, (3, 1)), abs=1e-3)
    row = faceset.labels.iloc[0]
    assert (row.source, row.subject, row.file) == ("biwi", "01", str(root / "01" / "frame_00003_rgb.png"))


def test_labels_equal_the_published_biwi_loaders_formula(tmp_path):
    seq = _sequence(tmp_path, "05", frames=0)
    rng = np.random.default_rng(0)
    rotations = [cv2.Rodrigues(rng.uniform(-0.8, 0.8, 3))[0] for _ in range(8)]
    for n, rotation in enumerate(rotations):
        _write_frame(seq, n, rotation=rotation)
    faceset, _ = read_biwi(tmp_path, progress=False)
    assert faceset.angles == pytest.approx(np.array([_hopenet_ypr(r) for r in rotations]), abs=1e-3)


@pytest.mark.parametrize(
    ("rotation", "expected"),
    [
        (_ry(20), (20, 0, 0)),  # nose (-z when frontal) swings toward -x: face turned toward image left
        (_rx(-20), (0, 20, 0)),  # nose swings toward -y (image up, y is down): face tilted up
        (_rz(20), (0, 0, 20)),  # top of the head (-y) swings toward +x: head tilted toward image right
    ],
    ids=["yaw-left", "pitch-up", "roll-right"],
)
def test_signs_match_what_the_head_does_in_the_image(tmp_path, rotation, expected):
    _write_frame(_sequence(tmp_path, "01", frames=0), 0, rotation=rotation)
    faceset, _ = read_biwi(tmp_path, progress=False)
    assert faceset.angles[0] == pytest.approx(expected, abs=1e-3)


def test_crop_is_centred_on_the_projected_head_and_sized_by_depth(root):
    faceset, _ = read_biwi(root, crop_size=64, box_mm=BOX_MM, progress=False)
    crop = faceset.images[0, ..., 0]
    assert crop[20:44, 20:44].min() > 200  # the bright half-box square fills the centre...
    assert crop[:12].max() < 60 and crop[-12:].max() < 60  # ...and only the centre
    assert crop[:, :12].max() < 60 and crop[:, -12:].max() < 60


def test_standard_protocol_reports_angles_beyond_99(root):
    rotation = DEPTH_FROM_OURS @ euler_to_matrix(10, 0, 120) @ DEPTH_FROM_OURS
    png = _write_frame(root / "01", 50, rotation=rotation)
    faceset, report = read_biwi(root, progress=False)
    assert len(faceset) == 3
    assert list(report.file) == [str(png)] and report.kind[0] == "protocol"
    assert "outside +-99" in report.problem[0]
    assert len(read_biwi(root, protocol="all", progress=False)[0]) == 4


def _corrupt_png(seq):
    png = _write_frame(seq, 90)
    png.write_bytes(b"\x89PNG broken")
    return png, "corrupt or unreadable"


def _missing_pose(seq):
    _write_frame(seq, 90)
    (seq / "frame_00090_pose.txt").unlink()
    return seq / "frame_00090_pose.txt", "pose file is missing"


def _short_pose(seq):
    _write_frame(seq, 90)
    (seq / "frame_00090_pose.txt").write_text("1 0 0\n0 1 0\n")
    return seq / "frame_00090_pose.txt", "malformed"


def _nan_pose(seq):
    _write_frame(seq, 90)
    (seq / "frame_00090_pose.txt").write_text(_rows(np.eye(3), [np.nan, 0, 900]))
    return seq / "frame_00090_pose.txt", "NaN/inf"


def _not_a_rotation(seq):
    _write_frame(seq, 90, rotation=1.5 * np.eye(3))
    return seq / "frame_00090_pose.txt", "not a rotation matrix"


def _behind_camera(seq):
    return _write_frame(seq, 90, centre=np.array([0, 0, -500.0])), "not in front of the RGB camera"


def _off_image(seq):
    return _write_frame(seq, 90, centre=np.array([3000.0, 0, 900])), "projects outside the image"


def _orphan_pose(seq):
    png = _write_frame(seq, 90)
    png.unlink()
    return png, "image file is missing"


def _missing_calibration(seq):
    other = _sequence(seq.parent, "02", frames=1)
    (other / "rgb.cal").unlink()
    return other / "frame_00003_rgb.png", f"{other / 'rgb.cal'}: rgb.cal is missing"


BREAKERS = {
    f.__name__.strip("_"): f
    for f in (
        _corrupt_png,
        _missing_pose,
        _short_pose,
        _nan_pose,
        _not_a_rotation,
        _behind_camera,
        _off_image,
        _orphan_pose,
        _missing_calibration,
    )
}


@pytest.mark.parametrize("make", BREAKERS.values(), ids=BREAKERS.keys())
def test_a_bad_frame_raises_naming_file_problem_and_remedy(root, make):
    bad_file, problem = make(root / "01")
    with pytest.raises(DatasetError) as err:
        read_biwi(root, on_bad_sample="raise", progress=False)
    assert str(err.value).startswith(f"{bad_file}: ")
    assert problem in str(err.value) and "on_bad_sample: skip" in str(err.value)


@pytest.mark.parametrize("make", BREAKERS.values(), ids=BREAKERS.keys())
def test_skipping_reports_the_bad_frame_and_keeps_the_good_ones(root, make, caplog):
    bad_file, problem = make(root / "01")
    with caplog.at_level(logging.WARNING):
        faceset, report = read_biwi(root, on_bad_sample="skip", progress=False)
    assert len(faceset) == 3
    assert list(report.file) == [str(bad_file)] and problem in report.problem[0]
    assert "kept 3 of 4" in caplog.text


def test_empty_or_frameless_folders_are_errors_naming_the_folder(tmp_path):
    with pytest.raises(DatasetError, match=f"{tmp_path}: no BIWI frames"):
        read_biwi(tmp_path, progress=False)
    (tmp_path / "01").mkdir()
    (tmp_path / "01" / "rgb.cal").write_text(_rows(K))
    with pytest.raises(DatasetError, match=f"{tmp_path}: no BIWI frames"):
        read_biwi(tmp_path, progress=False)
    with pytest.raises(DatasetError, match="not a directory"):
        read_biwi(tmp_path / "absent", progress=False)


def test_unknown_options_are_config_errors(root):
    with pytest.raises(ConfigError, match="protocol"):
        read_biwi(root, protocol="aflw2000_standard", progress=False)
    with pytest.raises(ConfigError, match="on_bad_sample"):
        read_biwi(root, on_bad_sample="drop", progress=False)
