"""The MediaPipe teacher from the command line: pseudo-label photos, and score it on AFLW2000.

:func:`label_images` runs :class:`headpose.teacher.teacher.MediaPipeTeacher` (BlazeFace -> 478
landmarks -> Procrustes pose -> yaw calibration) on an image or a folder and writes one JSON object
per face: ``file``, ``face`` (index in the image, highest detector score first), ``box`` (BlazeFace,
original image pixels), ``crop_box`` (the training-style crop of the teacher's 68 landmarks),
``yaw``/``pitch``/``roll`` (degrees, calibrated unless ``calibrated=False``), ``raw_angles`` (before
the yaw calibration), ``detector_score``, ``presence``, ``residual`` (Procrustes RMS, cm), ``teacher``
and ``teacher_version``. Images without a face and unreadable images go to a failures file.

:func:`evaluate_teacher` scores the teacher like any model on an AFLW2000-3D folder, with the
benchmark's own crop: ``label_crop_box`` on the original image around the ground-truth landmarks
(no detector), protocol ``aflw2000_standard`` keeping faces whose angles are all within +-99 deg.

The teacher always runs one landmark pass per face (``refine=False``).
"""

from __future__ import annotations

import json
import logging
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from headpose.errors import ConfigError, HeadposeError, InputError
from headpose.inference.sinks import LOGGED_FAILURES, failures_path
from headpose.inference.sources import image_files, read_image
from headpose.io import STDOUT, atomic_text, resolve_output
from headpose.teacher import TEACHER

log = logging.getLogger(__name__)


def make_teacher(calibrated: bool = True, min_score: float = 0.5, threads: int = 1):
    """The MediaPipe teacher (one landmark pass), with the packaged yaw calibration unless
    ``calibrated=False``."""
    from headpose.teacher.calibration import CALIBRATION_PATH, default_calibration
    from headpose.teacher.teacher import MediaPipeTeacher

    calibration = None
    if calibrated:
        if not CALIBRATION_PATH.is_file():
            raise ConfigError(
                f"the teacher's yaw calibration is not installed: {CALIBRATION_PATH} is missing; "
                "pass --no-calibration for the uncorrected yaw"
            )
        calibration = default_calibration()
    return MediaPipeTeacher(min_score=min_score, refine=False, threads=threads, calibration=calibration)


def _round(values, digits: int = 3) -> list[float]:
    return [round(float(v), digits) for v in np.asarray(values).reshape(-1)]


def face_records(
    teacher, image: np.ndarray, file: str, scale: float = 1.0, max_faces: int | None = None
) -> list[dict[str, Any]]:
    """One JSON-ready record per face the teacher finds in ``image`` (boxes divided by ``scale``, the
    decoded / original size)."""
    # label_image labels the detector's faces and keeps each one's score: pair them by it.
    boxes = {float(face.score): face.box for face in teacher.detect(image)}
    labels = teacher.label_image(image, max_faces=max_faces)
    inv = 1.0 / scale
    records = []
    for k, label in enumerate(labels):
        box = boxes.get(float(label.detector_score))
        yaw, pitch, roll = _round(label.angles)
        records.append(
            {
                "file": file,
                "face": k,
                "box": None if box is None else _round(np.asarray(box) * inv, 2),
                "crop_box": _round(np.asarray(label.box) * inv, 2),
                "yaw": yaw,
                "pitch": pitch,
                "roll": roll,
                "raw_angles": _round(label.raw_angles),
                "detector_score": round(float(label.detector_score), 4),
                "presence": round(float(label.presence), 4),
                "residual": round(float(label.residual), 4),
                "teacher": teacher.name,
                "teacher_version": teacher.version,
                "calibrated": teacher.calibration is not None,
            }
        )
    return records


def label_images(
    input_path: str | Path,
    jsonl: str | Path,
    failures: str | Path | None = None,
    calibrated: bool = True,
    min_score: float = 0.5,
    max_faces: int | None = None,
    max_pixels: int = 40_000_000,
    threads: int = 1,
    progress: bool = True,
) -> dict[str, Any]:
    """Label every face of an image or a folder of images (recursively) into ``jsonl``; returns a
    summary. Failures go to ``failures`` (default ``<jsonl stem>.failures.jsonl``). Raises
    HeadposeError when no image yields a face."""
    path = Path(input_path)
    files = [file for file, _ in image_files(path)]
    jsonl = (
        Path(jsonl) if str(jsonl) == STDOUT else resolve_output(jsonl)
    )  # a folder or a device: refused now
    failures = failures_path(failures, None, jsonl)
    teacher = make_teacher(calibrated, min_score, threads)
    counts = {"images": 0, "faces": 0, "images_with_faces": 0, "no_face": 0, "unreadable": 0}
    examples: list[str] = []
    start = time.perf_counter()
    with atomic_text(jsonl) as out, atomic_text(failures) if failures is not None else nullcontext() as bad:
        for file in tqdm(files, desc="label", unit="img", disable=not progress):
            counts["images"] += 1
            records, error, kind = _label_file(teacher, file, max_pixels, max_faces, min_score)
            out.writelines(json.dumps(r) + "\n" for r in records)
            counts["faces"] += len(records)
            counts["images_with_faces"] += bool(records)
            if error is None:
                continue
            counts[kind] += 1
            if bad is not None:
                bad.write(json.dumps({"file": str(file), "error": error}) + "\n")
            if len(examples) < LOGGED_FAILURES:
                log.warning(error)
                examples.append(error)
        if counts["faces"] == 0:
            raise InputError(
                f"no face labelled in {counts['images']} image(s) of {path}: " + "; ".join(examples[:3])
            )
    wall_s = time.perf_counter() - start
    return {
        "input": str(path),
        **counts,
        "failures": counts["no_face"] + counts["unreadable"],
        "failures_file": None if failures is None else str(failures),
        "jsonl": str(jsonl),
        "teacher": teacher.name,
        "teacher_version": teacher.version,
        "calibrated": calibrated,
        "wall_s": round(wall_s, 3),
        "images_per_s": round(counts["images"] / wall_s, 2) if wall_s > 0 else None,
    }


def _label_file(
    teacher, file: Path, max_pixels: int, max_faces: int | None, min_score: float
) -> tuple[list[dict[str, Any]], str | None, str]:
    """One image's face records, and its error and failure kind when it yields none."""
    try:
        image, scale = read_image(file, max_pixels)
    except HeadposeError as exc:
        return [], str(exc), "unreadable"
    records = face_records(teacher, image, str(file), scale, max_faces)
    if records:
        return records, None, ""
    return [], f"{file}: no face found by BlazeFace (min_score {min_score})", "no_face"


def label_summary_lines(summary: dict[str, Any]) -> list[str]:
    def count(n: int, word: str) -> str:
        return f"{n} {word}{'s' * (n != 1)}"

    failures = summary["failures"]
    detail = (
        (
            f" ({summary['no_face']} without a face, {summary['unreadable']} unreadable; see "
            f"{summary['failures_file']})"
        )
        if failures
        else ""
    )
    yaw = "calibrated yaw" if summary["calibrated"] else "uncorrected yaw (--no-calibration)"
    return [
        f"{count(summary['images'], 'image')} from {summary['input']}: {count(summary['faces'], 'face')} in "
        f"{count(summary['images_with_faces'], 'image')}, {count(failures, 'failure')}{detail}",
        f"teacher {summary['teacher']} {summary['teacher_version']}, {yaw}; "
        f"{summary['images_per_s']} images/s ({summary['wall_s']:.2f} s)",
        f"faces in {summary['jsonl']}",
    ]


def evaluate_teacher(
    root: str | Path,
    protocol: str = "aflw2000_standard",
    calibrated: bool = True,
    threads: int = 1,
    progress: bool = True,
) -> dict[str, Any]:
    """MAE of the teacher on an AFLW2000-3D folder (see the module docstring)."""
    from headpose.data.aflw2000 import (
        AFLW2000_PROTOCOLS,
        BadSample,
        OutsideProtocol,
        SampleReport,
        _list_stems,
        _read_labels,
        check_choice,
        read_rgb,
        within_angle_limit,
    )
    from headpose.evaluation import mae_by_yaw_bucket, pose_metrics

    root = Path(root)
    check_choice("protocol", protocol, AFLW2000_PROTOCOLS)
    teacher = make_teacher(calibrated, threads=threads)
    report = SampleReport("skip")
    stems = _list_stems(root)
    pred, true = [], []
    for stem in tqdm(stems, desc="evaluate mediapipe", unit="img", disable=not progress):
        jpg = root / f"{stem}.jpg"
        try:
            ypr, pts = _read_labels(root / f"{stem}.mat")
            if protocol == "aflw2000_standard" and not within_angle_limit(ypr):
                raise OutsideProtocol(jpg, f"angles outside +-99 deg; excluded by protocol {protocol}")
            label = teacher.label_crop_box(read_rgb(jpg), pts)
        except BadSample as exc:
            report.add(exc)
            continue
        pred.append(label.angles)
        true.append(ypr)
    skipped = report.finish("AFLW2000", root, len(true), len(stems))
    pred_arr, true_arr = np.asarray(pred, np.float64), np.asarray(true, np.float64)
    return {
        **pose_metrics(pred_arr, true_arr),
        "buckets": mae_by_yaw_bucket(pred_arr, true_arr),
        "skipped": int(len(skipped)),
        "skip_report": skipped,
        "model": TEACHER,
        "backend": "litert",
        "teacher_version": teacher.version,
        "calibrated": calibrated,
    }
