"""Reader for the AFLW2000-3D / 300W-LP layout: ``<stem>.jpg`` + ``<stem>.mat`` in one folder.

Each ``.mat`` holds ``Pose_Para`` (1x7: pitch, yaw, roll in radians, then translation and scale),
``pt2d`` (2x21, -1 where a point is missing) and ``pt3d_68`` (3x68 landmarks, x/y in image pixels).
Faces are cropped from the ground-truth landmarks (``pt3d_68``, else the valid ``pt2d`` points).

Also home of the validation shared by the real-dataset readers (:class:`SampleReport`): every
unusable or protocol-excluded file ends up in a skip report, nothing is dropped silently.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import scipy.io
from tqdm.auto import tqdm

from headpose.angles import ANGLE_LIMIT_DEG, aflw_pose_para_to_ypr
from headpose.data.crops import DEFAULT_MARGIN, box_from_landmarks, crop_resize, to_crop_coords
from headpose.data.faceset import FaceSet
from headpose.errors import ConfigError, DatasetError

log = logging.getLogger(__name__)

ON_BAD_SAMPLE = ("raise", "skip")
AFLW2000_PROTOCOLS = ("aflw2000_standard", "all")
REPORT_COLUMNS = ["file", "problem", "kind"]
PROGRESS_MIN_FILES = 100  # below this a progress bar is noise


class BadSample(Exception):
    """One sample cannot be used; ``problem`` says why, ``file`` is the offending file."""

    kind = "bad_sample"

    def __init__(self, file: Path, problem: str) -> None:
        super().__init__(f"{file}: {problem}")
        self.file, self.problem = Path(file), problem


class OutsideProtocol(BadSample):
    """A valid sample that the evaluation protocol excludes (reported, never an error)."""

    kind = "protocol"


class SampleReport:
    """Collects excluded samples; raises on the first bad one unless ``on_bad_sample="skip"``."""

    def __init__(self, on_bad_sample: str) -> None:
        check_choice("on_bad_sample", on_bad_sample, ON_BAD_SAMPLE)
        self.on_bad_sample = on_bad_sample
        self.rows: list[dict[str, str]] = []

    def add(self, exc: BadSample) -> None:
        if not isinstance(exc, OutsideProtocol) and self.on_bad_sample == "raise":
            raise DatasetError(f"{exc.file}: {exc.problem}; fix the file or set on_bad_sample: skip") from exc
        self.rows.append({"file": str(exc.file), "problem": exc.problem, "kind": exc.kind})

    def finish(self, dataset: str, root: Path, kept: int, total: int) -> pd.DataFrame:
        """Log what was excluded and why; raise if nothing is left. Returns the report."""
        report = pd.DataFrame(self.rows, columns=REPORT_COLUMNS)
        counts = report.groupby("kind").size().to_dict()
        summary = (
            f"{dataset} {root}: kept {kept} of {total} samples; "
            f"{counts.get('bad_sample', 0)} bad file(s) skipped, "
            f"{counts.get('protocol', 0)} excluded by the protocol"
        )
        if counts.get("bad_sample"):
            first = report[report.kind == "bad_sample"].iloc[0]
            log.warning(
                "%s (first: %s: %s); the skip report lists every one", summary, first.file, first.problem
            )
        else:
            log.info(summary)
        if kept == 0:
            raise DatasetError(
                f"{root}: no usable {dataset} sample ({summary}); first problems: "
                f"{report.head(3).to_dict('records')}"
            )
        return report


def check_choice(name: str, value: str, choices: Iterable[str]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {list(choices)}, got {value!r}")


def within_angle_limit(ypr: np.ndarray) -> bool:
    """The standard protocols keep faces whose three angles are all within +-99 degrees."""
    return bool(np.all(np.abs(ypr) <= ANGLE_LIMIT_DEG))


def read_rgb(path: Path) -> np.ndarray:
    """uint8 (H, W, 3) RGB image, or BadSample when missing or undecodable."""
    if not path.is_file():
        raise BadSample(path, "image file is missing")
    data = np.fromfile(path, np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None  # OpenCV raises on empty buffers
    if image is None:
        raise BadSample(path, "image is corrupt or unreadable (OpenCV could not decode it)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


LAYOUTS = ("flat", "300w_lp")


def read_aflw2000(
    root: str | Path,
    crop_size: int = 128,
    margin: float = DEFAULT_MARGIN,
    protocol: str = "aflw2000_standard",
    on_bad_sample: str = "raise",
    progress: bool = True,
    layout: str = "flat",
) -> tuple[FaceSet, pd.DataFrame]:
    """Read an AFLW2000-3D style folder into a FaceSet of ``crop_size`` crops, plus a skip report.

    ``layout="300w_lp"`` reads 300W-LP: sub-folders per source database (its ``landmarks/`` folder
    is ignored) and ``<db>_<id>_<view>`` names, whose views of one photo share a subject so that
    subject-disjoint splits never put two views of one face on both sides.

    Labels: yaw, pitch, roll (degrees, our convention), source="aflw2000", subject=file stem,
    file=image path. ``arrays["landmarks"]``: (N, 68, 2) in crop pixels (NaN where a file only had
    ``pt2d``). The report lists every excluded file with its problem and kind ("bad_sample" or
    "protocol"). ``protocol="aflw2000_standard"`` keeps faces with all angles within +-99 degrees.
    """
    root = Path(root)
    check_choice("protocol", protocol, AFLW2000_PROTOCOLS)
    check_choice("layout", layout, LAYOUTS)
    report = SampleReport(on_bad_sample)
    stems = _list_stems(root, recursive=layout == "300w_lp")
    images, landmarks, rows = [], [], []
    for stem in tqdm(
        stems,
        desc=f"AFLW2000 {root.name}",
        unit="img",
        disable=not progress or len(stems) < PROGRESS_MIN_FILES,
    ):
        jpg = root / f"{stem}.jpg"
        try:
            ypr, pts = _read_labels(root / f"{stem}.mat")
            if protocol == "aflw2000_standard" and not within_angle_limit(ypr):
                raise OutsideProtocol(
                    jpg,
                    f"angles outside +-{ANGLE_LIMIT_DEG:g} deg (yaw, pitch, roll = "
                    f"{np.round(ypr, 1).tolist()}); excluded by protocol {protocol}",
                )
            crop, crop_pts = _crop(read_rgb(jpg), jpg, pts, crop_size, margin)
        except BadSample as exc:
            report.add(exc)
            continue
        images.append(crop)
        landmarks.append(crop_pts)
        rows.append(
            {
                "yaw": ypr[0],
                "pitch": ypr[1],
                "roll": ypr[2],
                "source": "aflw2000",
                "subject": _subject(stem, layout),
                "file": str(jpg),
            }
        )
    skipped = report.finish("AFLW2000", root, len(rows), len(stems))
    faceset = FaceSet(
        np.stack(images), pd.DataFrame(rows), {"landmarks": np.stack(landmarks).astype(np.float32)}
    )
    return faceset, skipped


def _subject(stem: str, layout: str) -> str:
    return re.sub(r"_\d+$", "", stem) if layout == "300w_lp" else stem


def _list_stems(root: Path, recursive: bool = False) -> list[str]:
    """Every stem (relative to root) with a .jpg or a .mat, so an orphan of either kind is reported."""
    if not root.is_dir():
        raise DatasetError(
            f"{root}: not a directory; point the AFLW2000 reader at the folder of .jpg + .mat files"
        )
    pattern = "**/*" if recursive else "*"

    def stems(suffix: str) -> set[str]:
        found = (p.relative_to(root).with_suffix("").as_posix() for p in root.glob(pattern + suffix))
        return {s for s in found if not s.startswith("landmarks/")}

    jpgs = stems(".jpg")
    if not jpgs:
        raise DatasetError(
            f"{root}: no *.jpg images; expected the AFLW2000-3D layout "
            "(imageNNNNN.jpg + imageNNNNN.mat in one folder)"
        )
    return sorted(jpgs | stems(".mat"))


def _read_labels(mat_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(yaw, pitch, roll) degrees and image landmarks: (68, 2) from pt3d_68, else (K, 2) from pt2d."""
    if not mat_path.is_file():
        raise BadSample(mat_path, "label file (.mat) is missing")
    try:
        mat = scipy.io.loadmat(mat_path)
    except Exception as exc:  # scipy raises many types for damaged files; all mean "unreadable"
        raise BadSample(mat_path, f".mat is truncated or unreadable ({type(exc).__name__}: {exc})") from exc
    if "Pose_Para" not in mat:
        raise BadSample(mat_path, "no Pose_Para key in the .mat")
    pose = np.asarray(mat["Pose_Para"], np.float64).ravel()
    if pose.size < 3:
        raise BadSample(mat_path, f"Pose_Para has {pose.size} values, expected (pitch, yaw, roll, ...)")
    if not np.isfinite(pose[:3]).all():
        raise BadSample(mat_path, f"Pose_Para has NaN/inf angles (pitch, yaw, roll = {pose[:3].tolist()})")
    return aflw_pose_para_to_ypr(pose[:3]), _landmarks(mat, mat_path)


def _landmarks(mat: dict, mat_path: Path) -> np.ndarray:
    pt3d = np.asarray(mat.get("pt3d_68", np.empty((0, 0))), np.float64)
    if pt3d.ndim == 2 and pt3d.shape[0] in (2, 3) and pt3d.shape[1] == 68 and np.isfinite(pt3d[:2]).all():
        return pt3d[:2].T
    pt2d = np.asarray(mat.get("pt2d", np.empty((0, 0))), np.float64)
    if pt2d.ndim == 2 and pt2d.shape[0] == 2:
        pts = pt2d.T[np.isfinite(pt2d.T).all(1) & (pt2d.T >= 0).all(1)]  # AFLW marks missing points -1
        if len(pts) >= 2:
            return pts
    raise BadSample(mat_path, "landmarks missing: no valid pt3d_68 (3x68) and fewer than 2 valid pt2d points")


def _crop(
    image: np.ndarray, jpg: Path, pts: np.ndarray, size: int, margin: float
) -> tuple[np.ndarray, np.ndarray]:
    box = box_from_landmarks(pts, margin)
    try:
        crop = crop_resize(image, box, size)
    except ValueError as exc:
        raise BadSample(jpg, f"landmarks do not fit the image: {exc}") from exc
    # pt2d has 21 points, so 68 points can only come from pt3d_68
    crop_pts = to_crop_coords(pts, box, size) if len(pts) == 68 else np.full((68, 2), np.nan)
    return crop, crop_pts
