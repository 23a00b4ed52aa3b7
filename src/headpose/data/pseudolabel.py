"""Pseudo-labels for unlabelled face photos: the MediaPipe teacher's pose on training-style crops.

A *pool* is a folder of photos without pose labels (LFW, UTKFace, ...). Every photo it holds is
read, labelled by the teacher (:class:`headpose.teacher.teacher.MediaPipeTeacher`) and cropped
exactly as training crops are cut (:func:`headpose.data.crops.box_from_landmarks` on the 68-point
subset of the teacher's landmarks, then :func:`headpose.data.crops.crop_resize`). Faces whose
detector score, presence, Procrustes residual, size or angles fail the thresholds are dropped.

Nothing is dropped silently: the report has one row per photo with its status -- ``kept`` or the
reason it was dropped (:data:`STATUSES`) -- and the best face's confidences, so thresholds can be
tuned from the report without labelling again. Subjects ("<pool>:<id>") let subject-disjoint
splits keep one person's photos on one side.

Photos are processed in sorted order, in chunks that worker processes (each with its own
teacher) label independently and that are put back in order: the output is the same for any
number of workers.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, fields, is_dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import cv2
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from headpose.angles import ANGLE_LIMIT_DEG, NUM_BINS, euler_to_matrix
from headpose.data.aflw2000 import BadSample, read_rgb
from headpose.data.crops import DEFAULT_MARGIN, box_from_landmarks, crop_resize, snap_box, to_crop_coords
from headpose.data.faceset import ANGLE_COLUMNS, FaceSet
from headpose.errors import ConfigError, DatasetError, reject_unknown_keys
from headpose.synth.landmarks import MESH_INDEX_68

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

KEPT = "kept"
# Every status a photo can get. Face checks run in this order; a face's status is its first failure.
FACE_CHECKS = ("detector_score", "presence", "residual", "face_px", "yaw", "pitch", "roll")
STATUSES = (KEPT, "no_subject", "unreadable", "no_face", *FACE_CHECKS, "crop")
REPORT_COLUMNS = ["pool", "file", "status", "detail", "faces", "detector_score", "presence", "residual",
                  "face_px", *ANGLE_COLUMNS]
SUBJECT_RULES = ("parent", "stem")
POOL_NAME = re.compile(r"^[A-Za-z0-9_-]+$")  # pool names end up in subject ids and MLflow metric keys
MAX_CHUNK = 32         # photos per worker task
PROGRESS_MIN_FILES = 50
PREVIEW_FACES = 32


class Teacher(Protocol):
    """What the pseudo-labeller needs from a teacher (MediaPipeTeacher is one)."""

    name: str
    version: str

    def label_image(self, image: np.ndarray, max_faces: int | None = None) -> list:  # -> [TeacherLabel]
        ...


# ---- configuration ----------------------------------------------------------------------------


def _knob(default: Any, lo: float | None = None, hi: float | None = None, lo_open: bool = False,
          integer: bool = False) -> Any:
    return field(default=default, metadata={"lo": lo, "hi": hi, "lo_open": lo_open, "integer": integer})


def _number(key: str, value: Any, lo: float | None = None, hi: float | None = None, lo_open: bool = False,
            integer: bool = False) -> float | int:
    """``value`` as a float (or int), or ConfigError naming ``key``: bools, strings and NaN are refused."""
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value)
            or (integer and not float(value).is_integer())):
        raise ConfigError(f"{key}: expected {'an integer' if integer else 'a number'}, got {value!r}")
    below = lo is not None and (value <= lo if lo_open else value < lo)
    if below or (hi is not None and value > hi):
        interval = f"{'(' if lo_open else '['}{lo}, {'inf)' if hi is None else f'{hi}]'}"
        raise ConfigError(f"{key}: {value!r} is outside {interval}")
    return int(value) if integer else float(value)


def _check_knobs(section: str, config: Any) -> None:
    """Validate and canonicalise every ``_knob`` field of a frozen dataclass (None allowed if the default)."""
    for f in fields(config):
        if "lo" not in f.metadata:
            continue
        value = getattr(config, f.name)
        if value is None and f.default is None:
            continue
        object.__setattr__(config, f.name, _number(f"{section}.{f.name}", value, **f.metadata))


def _mapping(key: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key}: expected a mapping, got {type(value).__name__} {value!r}")
    return dict(value)


@dataclass(frozen=True)
class PoolConfig:
    """One folder of photos. ``subject``: "parent" (the photo's folder, e.g. an LFW person), "stem"
    (the file name without its extension: every photo its own subject) or a regular expression
    searched in the path relative to ``root`` (its first group, else the whole match, is the id)."""

    root: Path
    subject: str
    pattern: str = "**/*.jpg"

    def __post_init__(self) -> None:
        if not isinstance(self.root, (str, os.PathLike)) or not str(self.root):
            raise ConfigError(f"root: expected a folder path, got {self.root!r}")
        object.__setattr__(self, "root", Path(self.root))
        if not isinstance(self.pattern, str) or not self.pattern:
            raise ConfigError(f"pattern: expected a glob such as '**/*.jpg', got {self.pattern!r}")
        rules = f"one of {list(SUBJECT_RULES)} or a regex"
        if not isinstance(self.subject, str) or not self.subject:
            raise ConfigError(f"subject: expected {rules}, got {self.subject!r}")
        if self.subject not in SUBJECT_RULES:
            try:
                re.compile(self.subject)
            except re.error as exc:
                raise ConfigError(f"subject: {self.subject!r} is not {rules} ({exc})") from exc

    @classmethod
    def from_dict(cls, name: str, raw: Any) -> PoolConfig:
        key = f"pseudolabel.pools.{name}"
        raw = _mapping(key, raw)
        reject_unknown_keys(key, raw, cls)
        for required in ("root", "subject"):
            if raw.get(required) is None:
                raise ConfigError(f"{key}.{required}: required (see conf/base/parameters_pseudolabel.yml)")
        try:
            return cls(**raw)
        except ConfigError as exc:
            raise ConfigError(f"{key}.{exc}") from exc

    def subject_of(self, relative: str) -> str | None:
        """The subject id of the photo at ``relative`` (posix path under root); None when a regex misses."""
        path = Path(relative)
        if self.subject == "parent":
            return path.parent.as_posix() if path.parent != Path(".") else self.root.name
        if self.subject == "stem":
            return path.stem
        match = re.search(self.subject, relative)
        if match is None:
            return None
        return match.group(1) if match.re.groups else match.group(0)


@dataclass(frozen=True)
class Thresholds:
    """A face is kept only if it passes every one (angles in degrees, sizes in image pixels)."""

    min_detector_score: float = _knob(0.5, 0, 1, lo_open=True)  # also BlazeFace's: weaker ones are "no_face"
    min_presence: float = _knob(0.5, 0, 1)         # landmark network's face-presence probability
    max_residual: float = _knob(1.0, 0, lo_open=True)  # Procrustes RMS residual, cm of the canonical mesh
    min_face_px: float = _knob(40.0, 0)            # longer side of the 68 landmarks' box in the photo
    max_abs_yaw: float = _knob(ANGLE_LIMIT_DEG, 0, 180, lo_open=True)
    max_abs_pitch: float = _knob(ANGLE_LIMIT_DEG, 0, 180, lo_open=True)
    max_abs_roll: float = _knob(ANGLE_LIMIT_DEG, 0, 180, lo_open=True)

    def __post_init__(self) -> None:
        _check_knobs("pseudolabel.thresholds", self)

    @classmethod
    def from_dict(cls, raw: Any) -> Thresholds:
        raw = _mapping("pseudolabel.thresholds", raw)
        reject_unknown_keys("pseudolabel.thresholds", raw, cls)
        return cls(**raw)

    def failure(self, label: Any, face_px: float) -> tuple[str, str] | None:
        """(status, detail) of the first check ``label`` fails, or None when it passes all."""
        score, presence, residual = (float(v) for v in (label.detector_score, label.presence, label.residual))
        yaw, pitch, roll = (abs(float(v)) for v in label.angles)
        checks = (
            ("detector_score", not score >= self.min_detector_score,  # "not >=": NaN fails too
             f"detector score {score:.3f} < {self.min_detector_score:g}"),
            ("presence", not presence >= self.min_presence,
             f"presence {presence:.3f} < {self.min_presence:g}"),
            ("residual", not residual <= self.max_residual,
             f"Procrustes residual {residual:.3f} cm > {self.max_residual:g}"),
            ("face_px", not face_px >= self.min_face_px, f"face {face_px:.0f} px < {self.min_face_px:g} px"),
            ("yaw", not yaw <= self.max_abs_yaw, f"|yaw| {yaw:.1f} > {self.max_abs_yaw:g} deg"),
            ("pitch", not pitch <= self.max_abs_pitch, f"|pitch| {pitch:.1f} > {self.max_abs_pitch:g} deg"),
            ("roll", not roll <= self.max_abs_roll, f"|roll| {roll:.1f} > {self.max_abs_roll:g} deg"),
        )
        return next(((status, detail) for status, failed, detail in checks if failed), None)


@dataclass(frozen=True)
class PseudolabelConfig:
    """The ``pseudolabel:`` block of parameters_pseudolabel.yml (see that file for every knob)."""

    pools: dict[str, PoolConfig] = field(default_factory=dict)
    image_size: int = _knob(128, 16, 1024, integer=True)
    margin: float = _knob(DEFAULT_MARGIN, 0, 2)
    max_faces_per_image: int = _knob(1, 1, integer=True)
    thresholds: Thresholds = field(default_factory=Thresholds)
    limit: int | None = _knob(None, 1, integer=True)    # photos per pool, spread evenly; None: all
    workers: int | None = _knob(None, 1, integer=True)  # processes, each with a teacher; None: one per CPU
    threads: int = _knob(1, 1, integer=True)            # TFLite threads per teacher

    def __post_init__(self) -> None:
        if not isinstance(self.pools, Mapping):
            raise ConfigError(f"pseudolabel.pools: expected a mapping name -> pool, got {self.pools!r}")
        for name, pool in self.pools.items():
            if not isinstance(name, str) or not POOL_NAME.match(name):
                raise ConfigError(f"pseudolabel.pools: pool name {name!r} must be letters, digits, _ or -")
            if not isinstance(pool, PoolConfig):
                raise ConfigError(f"pseudolabel.pools.{name}: expected a PoolConfig, "
                                  f"got {type(pool).__name__}")
        if not isinstance(self.thresholds, Thresholds):
            raise ConfigError(f"pseudolabel.thresholds: expected Thresholds, "
                              f"got {type(self.thresholds).__name__}")
        _check_knobs("pseudolabel", self)
        object.__setattr__(self, "pools", dict(self.pools))

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> PseudolabelConfig:
        raw = _mapping("pseudolabel", raw)
        reject_unknown_keys("pseudolabel", raw, cls)
        pools = _mapping("pseudolabel.pools", raw.pop("pools", None))
        thresholds = Thresholds.from_dict(raw.pop("thresholds", None))
        return cls(pools={name: PoolConfig.from_dict(name, p) for name, p in pools.items()},
                   thresholds=thresholds, **raw)


# ---- labelling --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Photo:
    pool: str
    root: Path
    file: str  # posix path relative to root


@dataclass
class _Result:
    report: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)
    crops: list[np.ndarray] = field(default_factory=list)
    landmarks: list[np.ndarray] = field(default_factory=list)  # (478, 3) crop pixels


def default_teacher(config: PseudolabelConfig) -> Teacher:
    """The production teacher: MediaPipe with its shipped yaw calibration, one landmark pass."""
    from headpose.teacher.teacher import MediaPipeTeacher

    return MediaPipeTeacher(min_score=config.thresholds.min_detector_score, refine=False,
                            threads=config.threads)


def list_photos(name: str, pool: PoolConfig, limit: int | None = None) -> list[_Photo]:
    """The pool's files matching its pattern, sorted by relative path; ``limit`` of them evenly spread."""
    root = pool.root
    if not root.is_dir():
        raise DatasetError(f"{root}: pool {name!r} is not a directory; fix pseudolabel.pools.{name}.root")
    files = sorted(p.relative_to(root).as_posix() for p in root.glob(pool.pattern) if p.is_file())
    if not files:
        raise DatasetError(f"{root}: no file matches pattern {pool.pattern!r} of pool {name!r}")
    if limit is not None and limit < len(files):
        files = [files[i] for i in np.arange(limit) * len(files) // limit]
    return [_Photo(name, root, f) for f in files]


def pseudolabel_pools(config: PseudolabelConfig | Mapping[str, Any], teacher: Teacher | None = None,
                      progress: bool = True) -> tuple[FaceSet, pd.DataFrame]:
    """Label every photo of every pool; return the kept faces and a report with one row per photo.

    Labels: yaw, pitch, roll (the teacher's corrected angles), raw_yaw, raw_pitch, raw_roll, source
    ("pseudolabel:<pool>"), subject ("<pool>:<id>"), file (relative to the pool root), pool, face
    (rank in its photo; every face of a photo shares its subject), teacher, teacher_version,
    detector_score, presence, residual, face_px (the 68 landmarks' longer side in the photo).
    Arrays: landmarks_478 (N, 478, 3) and landmarks (N, 68, 2, the MESH_INDEX_68 subset) in crop
    pixels (z scaled like x and y), rotation (N, 3, 3) of the angles. Report: :data:`REPORT_COLUMNS`.

    ``teacher`` defaults to :func:`default_teacher`. With several workers each process builds its own
    copy of a dataclass teacher from its init fields; any other teacher runs in this process.
    """
    config = config if isinstance(config, PseudolabelConfig) else PseudolabelConfig.from_dict(config)
    if not config.pools:
        raise ConfigError("pseudolabel.pools: no pools configured; add folders of photos, e.g. "
                          "pools: {lfw: {root: data/01_raw/faces-unlabelled/lfw, pattern: '*/*.jpg', "
                          "subject: parent}}, or run with --env real")
    photos = [photo for name, pool in config.pools.items() for photo in list_photos(name, pool, config.limit)]
    teacher = teacher if teacher is not None else default_teacher(config)
    recipe = _recipe(teacher)
    workers = config.workers or _available_cpus()
    if recipe is None and workers > 1:
        log.info("teacher %s cannot be rebuilt in worker processes; labelling in this process",
                 type(teacher).__name__)
        workers = 1
    chunk = max(1, min(MAX_CHUNK, math.ceil(len(photos) / (4 * workers))))
    chunks = [photos[i : i + chunk] for i in range(0, len(photos), chunk)]
    workers = min(workers, len(chunks))
    results: list[list[_Result]] = [[] for _ in chunks]
    with tqdm(total=len(photos), desc="pseudo-labels", unit="photo",
              disable=not progress or len(photos) < PROGRESS_MIN_FILES) as bar:
        if workers == 1:
            for k, part in enumerate(chunks):
                results[k] = label_photos(teacher, config, part)
                bar.update(len(part))
        else:
            # spawn, not fork: the parent may hold threads (MLflow, TFLite) that fork would copy mid-lock.
            with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_init_worker,
                                     initargs=(recipe,)) as pool:
                futures = [pool.submit(_label_in_worker, config, part) for part in chunks]
                for k, future in enumerate(futures):  # in submission order: the output order is fixed
                    results[k] = future.result()
                    bar.update(len(chunks[k]))
    return _assemble([r for part in results for r in part], config, photos)


def label_photos(teacher: Teacher, config: PseudolabelConfig, photos: Sequence[_Photo]) -> list[_Result]:
    return [_label_photo(teacher, config, photo) for photo in photos]


def _label_photo(teacher: Teacher, config: PseudolabelConfig, photo: _Photo) -> _Result:
    pool = config.pools[photo.pool]
    report = {"pool": photo.pool, "file": photo.file, "status": KEPT, "detail": "", "faces": 0}
    subject = pool.subject_of(photo.file)
    if subject is None:
        return _Result({**report, "status": "no_subject",
                        "detail": f"subject regex {pool.subject!r} does not match the path"})
    try:
        image = read_rgb(photo.root / photo.file)
    except BadSample as exc:
        return _Result({**report, "status": "unreadable", "detail": exc.problem})
    except OSError as exc:
        return _Result({**report, "status": "unreadable", "detail": f"cannot read the file ({exc})"})
    labels = teacher.label_image(image)
    if not labels:
        return _Result({**report, "status": "no_face", "detail": "the teacher's detector found no face"})
    faces = []
    for label in labels:
        lm68 = np.asarray(label.landmarks, np.float64)[MESH_INDEX_68, :2]
        face_px = float(np.ptp(lm68, axis=0).max())
        faces.append((label, face_px, config.thresholds.failure(label, face_px)))
    faces.sort(key=lambda f: (f[2] is not None, -f[1]))  # passing faces first, largest first
    best, best_px, failure = faces[0]
    report.update(detector_score=float(best.detector_score), presence=float(best.presence),
                  residual=float(best.residual), face_px=best_px,
                  **dict(zip(ANGLE_COLUMNS, (float(v) for v in best.angles), strict=True)))
    if failure is not None:
        return _Result({**report, "status": failure[0], "detail": failure[1]})
    result = _Result(report)
    for rank, (label, face_px, failure) in enumerate(faces[: config.max_faces_per_image]):
        if failure is not None:
            break
        try:
            crop, landmarks = _crop(image, np.asarray(label.landmarks, np.float64), config)
        except ValueError as exc:
            if rank == 0:
                return _Result({**report, "status": "crop", "detail": str(exc)})
            break
        result.crops.append(crop)
        result.landmarks.append(landmarks)
        result.rows.append(_row(label, photo, subject, rank, face_px, teacher))
    result.report["faces"] = len(result.rows)
    return result


def _crop(image: np.ndarray, landmarks: np.ndarray,
          config: PseudolabelConfig) -> tuple[np.ndarray, np.ndarray]:
    """The training-style crop of a face and its (478, 3) landmarks in crop pixels."""
    box = box_from_landmarks(landmarks[MESH_INDEX_68, :2], config.margin)
    crop = crop_resize(image, box, config.image_size)
    x0, _, x1, _ = snap_box(box)
    scale = config.image_size / (x1 - x0)  # the snapped box is square: one scale for x, y and z
    xy = to_crop_coords(landmarks[:, :2], box, config.image_size)
    return crop, np.column_stack([xy, landmarks[:, 2] * scale]).astype(np.float32)


def _row(label: Any, photo: _Photo, subject: str, rank: int, face_px: float,
         teacher: Teacher) -> dict[str, Any]:
    yaw, pitch, roll = (float(v) for v in label.angles)
    raw_yaw, raw_pitch, raw_roll = (float(v) for v in label.raw_angles)
    return {"yaw": yaw, "pitch": pitch, "roll": roll, "raw_yaw": raw_yaw, "raw_pitch": raw_pitch,
            "raw_roll": raw_roll, "source": f"pseudolabel:{photo.pool}", "subject": f"{photo.pool}:{subject}",
            "file": photo.file, "pool": photo.pool, "face": rank,
            "teacher": str(getattr(teacher, "name", type(teacher).__name__)),
            "teacher_version": str(getattr(teacher, "version", "")),
            "detector_score": float(label.detector_score), "presence": float(label.presence),
            "residual": float(label.residual), "face_px": face_px}


def _assemble(results: list[_Result], config: PseudolabelConfig,
              photos: list[_Photo]) -> tuple[FaceSet, pd.DataFrame]:
    report = pd.DataFrame([r.report for r in results], columns=REPORT_COLUMNS)
    rows = [row for r in results for row in r.rows]
    counts = report.groupby(["pool", "status"]).size()
    log.info("pseudo-labels: kept %d faces from %d photos; %s", len(rows), len(photos),
             "; ".join(f"{pool} {status}: {n}" for (pool, status), n in counts.items()))
    if not rows:
        first = report.head(3)[["pool", "file", "status", "detail"]].to_dict("records")
        raise DatasetError(f"{', '.join(str(p.root) for p in config.pools.values())}: no face kept from "
                           f"{len(photos)} photos (statuses {report.status.value_counts().to_dict()}); "
                           f"first: {first}")
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


def _label_in_worker(config: PseudolabelConfig, photos: Sequence[_Photo]) -> list[_Result]:
    return label_photos(_WORKER_TEACHER, config, photos)


def _available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# ---- report -----------------------------------------------------------------------------------
# matplotlib and headpose.visualize (albumentations, torch) are imported where used: worker
# processes import this module and need neither.


def pseudolabel_report(report: pd.DataFrame, faceset: FaceSet) -> tuple[dict[str, Any], Figure, Figure]:
    """Counts by pool and status, a pose / confidence histogram figure and a preview grid of kept faces.

    Summary: photos, kept_photos, faces; per pool the same plus kept_fraction, each status's count and
    the kept faces' |yaw| bands; the teacher name and version.
    """
    labels = faceset.labels
    summary: dict[str, Any] = {
        "photos": int(len(report)),
        "kept_photos": int((report.status == KEPT).sum()),
        "faces": int(len(faceset)),
        "status": {k: int(v) for k, v in report.status.value_counts().items()},
        "teacher": sorted({f"{name} {version}" for name, version in
                           zip(labels.get("teacher", []), labels.get("teacher_version", []), strict=True)}),
        "pools": {},
    }
    for pool, rows in report.groupby("pool", sort=False):
        kept = labels[labels["pool"] == pool] if len(labels) else labels
        abs_yaw = np.abs(kept["yaw"].to_numpy(np.float64)) if len(kept) else np.zeros(0)
        summary["pools"][str(pool)] = {
            "photos": int(len(rows)),
            "kept_photos": int((rows.status == KEPT).sum()),
            "kept_fraction": round(float((rows.status == KEPT).mean()), 4),
            "faces": int(len(kept)),
            "status": {k: int(v) for k, v in rows.status.value_counts().items()},
            "abs_yaw": {"0-30": int((abs_yaw < 30).sum()),
                        "30-60": int(((abs_yaw >= 30) & (abs_yaw < 60)).sum()),
                        "60+": int((abs_yaw >= 60).sum())},
        }
    return summary, pose_histograms(report, faceset), preview_figure(faceset)


def pose_histograms(report: pd.DataFrame, faceset: FaceSet) -> Figure:
    """Top: yaw, pitch, roll of the kept faces, one series per pool (Hopenet's 3-degree bins).
    Bottom: presence, residual and face size of every photo's best face, kept vs dropped."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 7), layout="constrained")
    axes = fig.subplots(2, 3)
    edges = np.linspace(-ANGLE_LIMIT_DEG, ANGLE_LIMIT_DEG, NUM_BINS + 1)
    labels = faceset.labels
    for k, (ax, name) in enumerate(zip(axes[0], ANGLE_COLUMNS, strict=True)):
        for pool, rows in (labels.groupby("pool", sort=False) if len(labels) else []):
            ax.hist(rows[name].to_numpy(np.float64), bins=edges, alpha=0.5, label=f"{pool} (n={len(rows)})")
        ax.set(title=f"{name} (kept)", xlabel="degrees", xlim=(edges[0], edges[-1]), yscale="log")
        ax.set_ylim(bottom=0.8)  # log scale: single faces stay visible, full bars stay whole
    axes[0, 0].set_ylabel("faces")
    if len(labels):
        axes[0, 0].legend(fontsize="small")
    found = report[np.isfinite(report["presence"].to_numpy(np.float64))]
    kept = found.status == KEPT
    bottom = (("presence", ""), ("residual", " (cm)"), ("face_px", " (px)"))
    for ax, (name, unit) in zip(axes[1], bottom, strict=True):
        values = found[name].to_numpy(np.float64)
        bins = np.linspace(0, 1, 41) if name == "presence" else 40
        if len(values):
            ax.hist([values[kept.to_numpy()], values[~kept.to_numpy()]], bins=bins, stacked=True,
                    label=[f"kept (n={int(kept.sum())})", f"dropped (n={int((~kept).sum())})"])
        ax.set(title=f"{name} of the best face", xlabel=f"{name}{unit}", yscale="log")
        ax.set_ylim(bottom=0.8)
    axes[1, 0].set_ylabel("photos")
    if len(found):
        axes[1, 0].legend(fontsize="small")
    return fig


def preview_figure(faceset: FaceSet, n: int = PREVIEW_FACES) -> Figure:
    """Kept crops spread over the yaw range, with their head axes and 68 landmarks drawn."""
    from matplotlib.figure import Figure

    from headpose.visualize import preview_grid

    if not len(faceset):
        fig = Figure(figsize=(4, 1))
        fig.text(0.5, 0.5, "no face kept", ha="center", va="center")
        return fig
    picks = _spread_over_yaw(faceset.labels["yaw"].to_numpy(np.float64), n)
    images = []
    for i in picks:
        image = np.array(faceset.images[i])
        for x, y in np.round(faceset.arrays["landmarks"][i]).astype(int):
            cv2.circle(image, (int(x), int(y)), 1, (255, 255, 0), -1)
        images.append(image)
    rows = faceset.labels.iloc[picks]
    titles = [f"{pool} r{res:.2f}" for pool, res in zip(rows["pool"], rows["residual"], strict=True)]
    grid = preview_grid(images, faceset.angles[picks], titles, cols=8)
    fig = Figure(figsize=(grid.shape[1] / 100, grid.shape[0] / 100), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(grid)
    ax.set_axis_off()
    return fig


def _spread_over_yaw(yaw: np.ndarray, n: int) -> np.ndarray:
    """Up to ``n`` indices sorted by yaw: the faces nearest to evenly spaced yaw values (so the rare
    profiles show), topped up with faces evenly spaced in rank."""
    order = np.argsort(yaw, kind="stable")
    n = min(n, len(order))
    targets = np.linspace(yaw[order[0]], yaw[order[-1]], n)
    nearest = np.clip(np.searchsorted(yaw[order], targets), 0, len(order) - 1)
    chosen = set(order[nearest].tolist())
    for i in order[np.arange(n) * len(order) // n]:
        if len(chosen) >= n:
            break
        chosen.add(int(i))
    return np.array(sorted(chosen, key=lambda i: (yaw[i], i)))
