"""Walking the photo pools: every photo labelled, in worker processes, and the kept faces assembled.

Photos are processed in sorted order, in chunks that worker processes (each with its own teacher)
label independently and that are put back in order: the output is the same for any number of
workers.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import fields, is_dataclass
from multiprocessing import get_context
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from headpose.angles import euler_to_matrix
from headpose.data.faceset import ANGLE_COLUMNS, FaceSet
from headpose.data.pseudolabel.config import PoolConfig, PseudolabelConfig
from headpose.data.pseudolabel.label import REPORT_COLUMNS, Photo, PhotoResult, Teacher, label_photos
from headpose.errors import ConfigError, DatasetError
from headpose.synth.landmarks import MESH_INDEX_68

log = logging.getLogger(__name__)

MAX_CHUNK = 32  # photos per worker task
PROGRESS_MIN_FILES = 50


def default_teacher(config: PseudolabelConfig) -> Teacher:
    """The production teacher: MediaPipe with its shipped yaw calibration, one landmark pass."""
    from headpose.teacher.teacher import MediaPipeTeacher

    return MediaPipeTeacher(
        min_score=config.thresholds.min_detector_score, refine=False, threads=config.threads
    )


def list_photos(name: str, pool: PoolConfig, limit: int | None = None) -> list[Photo]:
    """The pool's files matching its pattern, sorted by relative path; ``limit`` of them evenly spread."""
    root = pool.root
    if not root.is_dir():
        raise DatasetError(f"{root}: pool {name!r} is not a directory; fix pseudolabel.pools.{name}.root")
    files = sorted(p.relative_to(root).as_posix() for p in root.glob(pool.pattern) if p.is_file())
    if not files:
        raise DatasetError(f"{root}: no file matches pattern {pool.pattern!r} of pool {name!r}")
    if limit is not None and limit < len(files):
        files = [files[i] for i in np.arange(limit) * len(files) // limit]
    return [Photo(name, root, f) for f in files]


def pseudolabel_pools(
    config: PseudolabelConfig | Mapping[str, Any], teacher: Teacher | None = None, progress: bool = True
) -> tuple[FaceSet, pd.DataFrame]:
    """Label every photo of every pool; return the kept faces and a report with one row per photo.

    Labels: yaw, pitch, roll (the teacher's corrected angles), raw_yaw, raw_pitch, raw_roll, source
    ("pseudolabel:<pool>"), subject ("<pool>:<id>"), file (relative to the pool root), pool, face
    (rank in its photo; every face of a photo shares its subject), teacher, teacher_version,
    detector_score, presence, residual, face_px (the 68 landmarks' longer side in the photo).
    Arrays: landmarks_478 (N, 478, 3) and landmarks (N, 68, 2, the MESH_INDEX_68 subset) in crop
    pixels (z scaled like x and y), rotation (N, 3, 3) of the angles. Report: :data:`.label.REPORT_COLUMNS`.

    ``teacher`` defaults to :func:`default_teacher`. With several workers each process builds its own
    copy of a dataclass teacher from its init fields; any other teacher runs in this process.
    """
    config = PseudolabelConfig.from_dict(config)
    if not config.pools:
        raise ConfigError(
            "pseudolabel.pools: no pools configured; add folders of photos, e.g. "
            "pools: {lfw: {root: data/01_raw/faces-unlabelled/lfw, pattern: '*/*.jpg', "
            "subject: parent}}, or run with --env real"
        )
    photos = [photo for name, pool in config.pools.items() for photo in list_photos(name, pool, config.limit)]
    teacher = teacher if teacher is not None else default_teacher(config)
    return _assemble(_label_in_chunks(teacher, config, photos, progress), config, photos)


def _label_in_chunks(
    teacher: Teacher, config: PseudolabelConfig, photos: list[Photo], progress: bool
) -> list[PhotoResult]:
    """Every photo's result, in order: chunks labelled here or by worker processes with their own teacher."""
    recipe = _recipe(teacher)
    workers = config.workers or _available_cpus()
    if recipe is None and workers > 1:
        log.info(
            "teacher %s cannot be rebuilt in worker processes; labelling in this process",
            type(teacher).__name__,
        )
        workers = 1
    chunk = max(1, min(MAX_CHUNK, math.ceil(len(photos) / (4 * workers))))
    chunks = [photos[i : i + chunk] for i in range(0, len(photos), chunk)]
    workers = min(workers, len(chunks))
    results: list[list[PhotoResult]] = [[] for _ in chunks]
    with tqdm(
        total=len(photos),
        desc="pseudo-labels",
        unit="photo",
        disable=not progress or len(photos) < PROGRESS_MIN_FILES,
    ) as bar:
        if workers == 1:
            for k, part in enumerate(chunks):
                results[k] = label_photos(teacher, config, part)
                bar.update(len(part))
        else:
            # spawn, not fork: the parent may hold threads (MLflow, TFLite) that fork would copy mid-lock.
            with ProcessPoolExecutor(
                workers, mp_context=get_context("spawn"), initializer=_init_worker, initargs=(recipe,)
            ) as pool:
                futures = [pool.submit(_label_in_worker, config, part) for part in chunks]
                for k, future in enumerate(futures):  # in submission order: the output order is fixed
                    results[k] = future.result()
                    bar.update(len(chunks[k]))
    return [r for part in results for r in part]


def _assemble(
    results: list[PhotoResult], config: PseudolabelConfig, photos: list[Photo]
) -> tuple[FaceSet, pd.DataFrame]:
    report = pd.DataFrame([r.report for r in results], columns=REPORT_COLUMNS)
    rows = [row for r in results for row in r.rows]
    counts = report.groupby(["pool", "status"]).size()
    log.info(
        "pseudo-labels: kept %d faces from %d photos; %s",
        len(rows),
        len(photos),
        "; ".join(f"{pool} {status}: {n}" for (pool, status), n in counts.items()),
    )
    if not rows:
        first = report.head(3)[["pool", "file", "status", "detail"]].to_dict("records")
        raise DatasetError(
            f"{', '.join(str(p.root) for p in config.pools.values())}: no face kept from "
            f"{len(photos)} photos (statuses {report.status.value_counts().to_dict()}); "
            f"first: {first}"
        )
    labels = pd.DataFrame(rows)
    size = config.image_size
    images = np.empty((len(rows), size, size, 3), np.uint8)
    points_shape = next(lm for r in results for lm in r.landmarks).shape  # (478, 3)
    landmarks = np.empty((len(rows), *points_shape), np.float32)
    k = 0
    for r in results:  # copied one photo at a time and released: the crops are never held twice
        for crop, points in zip(r.crops, r.landmarks, strict=True):
            images[k], landmarks[k] = crop, points
            k += 1
        r.crops.clear()
    arrays = {
        "landmarks_478": landmarks,
        "landmarks": np.ascontiguousarray(landmarks[:, MESH_INDEX_68, :2]),
        "rotation": euler_to_matrix(*labels[ANGLE_COLUMNS].to_numpy().T).astype(np.float32),
    }
    return FaceSet(images, labels, arrays), report


# ---- worker processes -------------------------------------------------------------------------

_WORKER_TEACHER: Teacher | None = None


def _recipe(teacher: Teacher) -> tuple[type, dict[str, Any]] | None:
    """(class, init kwargs) that rebuild ``teacher`` in another process; None if it is no dataclass."""
    if not is_dataclass(teacher) or isinstance(teacher, type):
        return None
    return type(teacher), {f.name: getattr(teacher, f.name) for f in fields(teacher) if f.init}


def _init_worker(recipe: tuple[type, dict[str, Any]]) -> None:
    global _WORKER_TEACHER
    cls, kwargs = recipe
    _WORKER_TEACHER = cls(**kwargs)


def _label_in_worker(config: PseudolabelConfig, photos: Sequence[Photo]) -> list[PhotoResult]:
    return label_photos(_WORKER_TEACHER, config, photos)


def _available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
