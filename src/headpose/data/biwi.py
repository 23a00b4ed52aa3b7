"""Reader for the BIWI Kinect Head Pose database: ``<root>/<NN>/frame_XXXXX_{rgb.png,pose.txt}``.

``frame_XXXXX_pose.txt``: a 3x3 rotation R, then the head centre c in mm, both in the Kinect depth
camera's frame, which is OpenCV's: x right, y down, z forward (into the scene); R maps the head's
own axes (x right, y down, z toward the back of the head when frontal) into it: p = R p_head + c.
``<NN>/rgb.cal``: RGB intrinsics K (3x3), a distortion line, then the depth-to-RGB extrinsics
(R_e, t_e): p_rgb = R_e p + t_e.

Labels: our camera frame (x right, y up, z toward the viewer) is the depth frame turned 180 deg about
x, F = diag(1, -1, -1), and the head axes turn the same way, so our head rotation is F R F. Since
F Rx(a) F = Rx(a), F Ry(b) F = Ry(-b), F Rz(c) F = Rz(-c), this gives exactly the angles of the
Hopenet / FSA-Net / 6DRepNet BIWI loaders (R' = R^T; pitch = atan2(R'21, R'22),
yaw = asin(R'20), roll = -atan2(R'10, R'00)), so published BIWI numbers stay comparable. Like them
we ignore the RGB extrinsic rotation (under 1 deg) in the labels; the crop uses it.

Crop: the head centre, moved into the RGB frame and projected with K, centres a square box of
``box_mm`` millimetres at the head's depth.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from headpose.angles import ANGLE_LIMIT_DEG, matrix_to_euler
from headpose.data.aflw2000 import (
    PROGRESS_MIN_FILES,
    BadSample,
    OutsideProtocol,
    SampleReport,
    check_choice,
    read_rgb,
    within_angle_limit,
)
from headpose.data.crops import crop_resize, square_box
from headpose.data.faceset import FaceSet
from headpose.errors import DatasetError

BIWI_PROTOCOLS = ("biwi_standard", "all")
DEFAULT_BOX_MM = 250.0  # a whole head (about 200 mm tall) with some context
DEPTH_TO_OURS = np.diag([1.0, -1.0, -1.0])  # y down / z forward -> y up / z toward the viewer
ROTATION_TOL = 1e-3  # the files print 6 decimals; anything worse is not a rotation
_FRAME = re.compile(r"^(frame_\d+)_(?:rgb\.png|pose\.txt)$")


@dataclass(frozen=True)
class Camera:
    """RGB intrinsics and depth-to-RGB extrinsics of one sequence."""

    k: np.ndarray
    rotation: np.ndarray
    translation: np.ndarray


def biwi_rotation_to_ypr(rotation: np.ndarray) -> np.ndarray:
    """(yaw, pitch, roll) degrees of a BIWI pose-file rotation (depth camera frame)."""
    return matrix_to_euler(DEPTH_TO_OURS @ np.asarray(rotation, np.float64) @ DEPTH_TO_OURS)


def read_biwi(
    root: str | Path,
    crop_size: int = 128,
    box_mm: float = DEFAULT_BOX_MM,
    protocol: str = "biwi_standard",
    on_bad_sample: str = "raise",
    progress: bool = True,
) -> tuple[FaceSet, pd.DataFrame]:
    """Read a BIWI folder into a FaceSet of ``crop_size`` crops, plus a skip report.

    Labels: yaw, pitch, roll (degrees, our convention), source="biwi", subject=sequence folder,
    file=image path. ``protocol="biwi_standard"`` keeps faces with all angles within +-99 degrees.
    The report lists every excluded frame with its problem and kind ("bad_sample" or "protocol").
    """
    root = Path(root)
    check_choice("protocol", protocol, BIWI_PROTOCOLS)
    report = SampleReport(on_bad_sample)
    frames = _list_frames(root)
    cameras: dict[Path, Camera | BadSample] = {}
    images, rows = [], []
    for seq, stem in tqdm(
        frames, desc=f"BIWI {root.name}", unit="img", disable=not progress or len(frames) < PROGRESS_MIN_FILES
    ):
        png = seq / f"{stem}_rgb.png"
        try:
            rotation, centre = _read_pose(seq / f"{stem}_pose.txt")
            ypr = biwi_rotation_to_ypr(rotation)
            if protocol == "biwi_standard" and not within_angle_limit(ypr):
                raise OutsideProtocol(
                    png,
                    f"angles outside +-{ANGLE_LIMIT_DEG:g} deg (yaw, pitch, roll = "
                    f"{np.round(ypr, 1).tolist()}); excluded by protocol {protocol}",
                )
            if seq not in cameras:
                cameras[seq] = _read_camera(seq / "rgb.cal")
            camera = cameras[seq]
            if isinstance(camera, BadSample):
                raise BadSample(png, f"sequence calibration {camera.file}: {camera.problem}")
            images.append(_crop(read_rgb(png), png, camera, centre, crop_size, box_mm))
        except BadSample as exc:
            report.add(exc)
            continue
        rows.append(
            {
                "yaw": ypr[0],
                "pitch": ypr[1],
                "roll": ypr[2],
                "source": "biwi",
                "subject": seq.name,
                "file": str(png),
            }
        )
    skipped = report.finish("BIWI", root, len(rows), len(frames))
    return FaceSet(np.stack(images), pd.DataFrame(rows)), skipped


def _list_frames(root: Path) -> list[tuple[Path, str]]:
    """(sequence folder, frame stem) for every frame with an image or a pose file."""
    if not root.is_dir():
        raise DatasetError(
            f"{root}: not a directory; point the BIWI reader at the folder holding 01/, 02/, ..."
        )
    frames = []
    for seq in sorted(p for p in root.iterdir() if p.is_dir()):
        stems = {m.group(1) for m in map(_FRAME.match, (p.name for p in seq.iterdir())) if m}
        frames += [(seq, stem) for stem in sorted(stems)]
    if not frames:
        raise DatasetError(
            f"{root}: no BIWI frames; expected <root>/<NN>/frame_XXXXX_rgb.png "
            "+ frame_XXXXX_pose.txt + <NN>/rgb.cal"
        )
    return frames


def _numeric_rows(path: Path, what: str) -> list[list[float]]:
    if not path.is_file():
        raise BadSample(path, f"{what} is missing")
    try:
        return [[float(v) for v in line.split()] for line in path.read_text().splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BadSample(path, f"{what} is unreadable ({exc})") from exc


def _matrix(rows: list[list[float]], start: int, count: int, path: Path, what: str) -> np.ndarray:
    block = rows[start : start + count]
    if len(block) != count or any(len(r) < 3 for r in block):
        raise BadSample(
            path,
            f"{what} is malformed: expected {count} line(s) of 3 numbers from non-blank line {start + 1}",
        )
    out = np.array([r[:3] for r in block], np.float64)
    if not np.isfinite(out).all():
        raise BadSample(path, f"{what} has NaN/inf values: {out.tolist()}")
    return out


def _check_rotation(rotation: np.ndarray, path: Path, what: str) -> None:
    error = np.abs(rotation.T @ rotation - np.eye(3)).max()
    if error > ROTATION_TOL or np.linalg.det(rotation) < 0:
        raise BadSample(
            path,
            f"{what} is not a rotation matrix (|R^T R - I| = {error:.3g}, "
            f"det = {np.linalg.det(rotation):.3g})",
        )


def _read_pose(path: Path) -> tuple[np.ndarray, np.ndarray]:
    rows = _numeric_rows(path, "pose file")
    rotation = _matrix(rows, 0, 3, path, "pose rotation")
    centre = _matrix(rows, 3, 1, path, "head centre")[0]
    _check_rotation(rotation, path, "pose rotation")
    return rotation, centre


def _read_camera(path: Path) -> Camera | BadSample:
    """Non-blank lines of rgb.cal: K (3), distortion (1), R_e (3), t_e (1), resolution (1)."""
    try:
        rows = _numeric_rows(path, "rgb.cal")
        k = _matrix(rows, 0, 3, path, "rgb.cal intrinsics")
        rotation = _matrix(rows, 4, 3, path, "rgb.cal extrinsic rotation")
        translation = _matrix(rows, 7, 1, path, "rgb.cal extrinsic translation")[0]
        _check_rotation(rotation, path, "rgb.cal extrinsic rotation")
        if k[0, 0] <= 0 or k[1, 1] <= 0:
            raise BadSample(path, f"rgb.cal focal lengths must be positive, got {k[0, 0]}, {k[1, 1]}")
    except BadSample as exc:
        return exc  # cached: every frame of the sequence reports it
    return Camera(k, rotation, translation)


def _crop(
    image: np.ndarray, png: Path, camera: Camera, centre: np.ndarray, size: int, box_mm: float
) -> np.ndarray:
    x, y, z = camera.rotation @ centre + camera.translation
    if z <= 0:
        raise BadSample(png, f"head centre {centre.tolist()} mm is not in front of the RGB camera")
    u, v = (camera.k @ [x / z, y / z, 1.0])[:2]
    try:
        return crop_resize(image, square_box((u, v), camera.k[0, 0] * box_mm / z), size)
    except ValueError as exc:
        raise BadSample(png, f"head centre projects outside the image ({u:.0f}, {v:.0f}): {exc}") from exc
