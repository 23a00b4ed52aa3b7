"""Labelling one photo: the teacher's faces, the thresholds, the training-style crop and a report row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from headpose.data.aflw2000 import BadSample, read_rgb
from headpose.data.crops import box_from_landmarks, crop_resize, snap_box, to_crop_coords
from headpose.data.faceset import ANGLE_COLUMNS
from headpose.data.pseudolabel.config import KEPT, PseudolabelConfig
from headpose.synth.landmarks import MESH_INDEX_68

REPORT_COLUMNS = [
    "pool",
    "file",
    "status",
    "detail",
    "faces",
    "detector_score",
    "presence",
    "residual",
    "face_px",
    *ANGLE_COLUMNS,
]


class Teacher(Protocol):
    """What the pseudo-labeller needs from a teacher (MediaPipeTeacher is one)."""

    name: str
    version: str

    def label_image(self, image: np.ndarray, max_faces: int | None = None) -> list:  # -> [TeacherLabel]
        ...


@dataclass(frozen=True)
class Photo:
    pool: str
    root: Path
    file: str  # posix path relative to root


@dataclass
class PhotoResult:
    report: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)
    crops: list[np.ndarray] = field(default_factory=list)
    landmarks: list[np.ndarray] = field(default_factory=list)  # (478, 3) crop pixels


def label_photos(teacher: Teacher, config: PseudolabelConfig, photos: Sequence[Photo]) -> list[PhotoResult]:
    return [label_photo(teacher, config, photo) for photo in photos]


def label_photo(teacher: Teacher, config: PseudolabelConfig, photo: Photo) -> PhotoResult:
    """The photo's report row (its status: kept or why not) and the crops of its kept faces."""
    pool = config.pools[photo.pool]
    report = {"pool": photo.pool, "file": photo.file, "status": KEPT, "detail": "", "faces": 0}
    subject = pool.subject_of(photo.file)
    if subject is None:
        return _dropped(report, "no_subject", f"subject regex {pool.subject!r} does not match the path")
    try:
        image = read_rgb(photo.root / photo.file)
    except BadSample as exc:
        return _dropped(report, "unreadable", exc.problem)
    except OSError as exc:
        return _dropped(report, "unreadable", f"cannot read the file ({exc})")
    labels = teacher.label_image(image)
    if not labels:
        return _dropped(report, "no_face", "the teacher's detector found no face")
    faces = _ranked_faces(labels, config)
    best, best_px, failure = faces[0]
    report.update(
        detector_score=float(best.detector_score),
        presence=float(best.presence),
        residual=float(best.residual),
        face_px=best_px,
        **dict(zip(ANGLE_COLUMNS, (float(v) for v in best.angles), strict=True)),
    )
    if failure is not None:
        return _dropped(report, *failure)
    result = PhotoResult(report)
    for rank, (label, face_px, failure) in enumerate(faces[: config.max_faces_per_image]):
        if failure is not None:
            break
        try:
            crop, landmarks = _crop(image, np.asarray(label.landmarks, np.float64), config)
        except ValueError as exc:
            if rank == 0:
                return _dropped(report, "crop", str(exc))
            break
        result.crops.append(crop)
        result.landmarks.append(landmarks)
        result.rows.append(_row(label, photo, subject, rank, face_px, teacher))
    result.report["faces"] = len(result.rows)
    return result


def _dropped(report: dict[str, Any], status: str, detail: str) -> PhotoResult:
    return PhotoResult({**report, "status": status, "detail": detail})


def _ranked_faces(labels: list, config: PseudolabelConfig) -> list[tuple[Any, float, tuple[str, str] | None]]:
    """(label, face_px, first failed check or None) per face: passing faces first, largest first."""
    faces = []
    for label in labels:
        lm68 = np.asarray(label.landmarks, np.float64)[MESH_INDEX_68, :2]
        face_px = float(np.ptp(lm68, axis=0).max())
        faces.append((label, face_px, config.thresholds.failure(label, face_px)))
    return sorted(faces, key=lambda f: (f[2] is not None, -f[1]))


def _crop(
    image: np.ndarray, landmarks: np.ndarray, config: PseudolabelConfig
) -> tuple[np.ndarray, np.ndarray]:
    """The training-style crop of a face and its (478, 3) landmarks in crop pixels."""
    box = box_from_landmarks(landmarks[MESH_INDEX_68, :2], config.margin)
    crop = crop_resize(image, box, config.image_size)
    x0, _, x1, _ = snap_box(box)
    scale = config.image_size / (x1 - x0)  # the snapped box is square: one scale for x, y and z
    xy = to_crop_coords(landmarks[:, :2], box, config.image_size)
    return crop, np.column_stack([xy, landmarks[:, 2] * scale]).astype(np.float32)


def _row(
    label: Any, photo: Photo, subject: str, rank: int, face_px: float, teacher: Teacher
) -> dict[str, Any]:
    yaw, pitch, roll = (float(v) for v in label.angles)
    raw_yaw, raw_pitch, raw_roll = (float(v) for v in label.raw_angles)
    return {
        "yaw": yaw,
        "pitch": pitch,
        "roll": roll,
        "raw_yaw": raw_yaw,
        "raw_pitch": raw_pitch,
        "raw_roll": raw_roll,
        "source": f"pseudolabel:{photo.pool}",
        "subject": f"{photo.pool}:{subject}",
        "file": photo.file,
        "pool": photo.pool,
        "face": rank,
        "teacher": str(getattr(teacher, "name", type(teacher).__name__)),
        "teacher_version": str(getattr(teacher, "version", "")),
        "detector_score": float(label.detector_score),
        "presence": float(label.presence),
        "residual": float(label.residual),
        "face_px": face_px,
    }
