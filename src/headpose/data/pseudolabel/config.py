"""The ``pseudolabel:`` parameter block: photo pools, crop size, and the thresholds a face must pass."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from headpose.angles import ANGLE_LIMIT_DEG
from headpose.config import Config, knob
from headpose.data.crops import DEFAULT_MARGIN

KEPT = "kept"
# Every status a photo can get. Face checks run in this order; a face's status is its first failure.
FACE_CHECKS = ("detector_score", "presence", "residual", "face_px", "yaw", "pitch", "roll")
STATUSES = (KEPT, "no_subject", "unreadable", "no_face", *FACE_CHECKS, "crop")
SUBJECT_RULES = ("parent", "stem")
POOL_NAME = re.compile(r"^[A-Za-z0-9_-]+$")  # pool names end up in subject ids and MLflow metric keys
PARAMETERS_FILE = "conf/base/parameters_pseudolabel.yml"


@dataclass(frozen=True)
class PoolConfig(Config, section="pseudolabel.pools"):
    """One folder of photos. ``subject``: "parent" (the photo's folder, e.g. an LFW person), "stem"
    (the file name without its extension: every photo its own subject) or a regular expression
    searched in the path relative to ``root`` (its first group, else the whole match, is the id).
    ``root`` and ``subject`` are required."""

    root: Any = None  # a folder: str or PathLike in, Path out (Config parses no Path type)
    subject: str | None = None
    pattern: str = "**/*.jpg"

    def check(self) -> None:
        for required in ("root", "subject"):
            if getattr(self, required) is None:
                raise self.problem(required, f"required (see {PARAMETERS_FILE})")
        if not isinstance(self.root, (str, os.PathLike)) or not str(self.root):
            raise self.problem("root", f"expected a folder path, got {self.root!r}")
        object.__setattr__(self, "root", Path(self.root))  # canonical form, as Config does for its types
        if not self.pattern:
            raise self.problem("pattern", f"expected a glob such as '**/*.jpg', got {self.pattern!r}")
        rules = f"one of {list(SUBJECT_RULES)} or a regex"
        if not self.subject:
            raise self.problem("subject", f"expected {rules}, got {self.subject!r}")
        if self.subject not in SUBJECT_RULES:
            try:
                re.compile(self.subject)
            except re.error as exc:
                raise self.problem("subject", f"{self.subject!r} is not {rules} ({exc})") from exc

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


# Thresholds whose lower bound is open (0 would keep everything or nothing): checked in check().
_ABOVE_ZERO = ("min_detector_score", "max_residual", "max_abs_yaw", "max_abs_pitch", "max_abs_roll")


@dataclass(frozen=True)
class Thresholds(Config, section="pseudolabel.thresholds"):
    """A face is kept only if it passes every one (angles in degrees, sizes in image pixels)."""

    min_detector_score: float = knob(0.5, lo=0, hi=1)  # also BlazeFace's: weaker ones are "no_face"
    min_presence: float = knob(0.5, lo=0, hi=1)  # landmark network's face-presence probability
    max_residual: float = knob(1.0, lo=0)  # Procrustes RMS residual, cm of the canonical mesh
    min_face_px: float = knob(40.0, lo=0)  # longer side of the 68 landmarks' box in the photo
    max_abs_yaw: float = knob(ANGLE_LIMIT_DEG, lo=0, hi=180)
    max_abs_pitch: float = knob(ANGLE_LIMIT_DEG, lo=0, hi=180)
    max_abs_roll: float = knob(ANGLE_LIMIT_DEG, lo=0, hi=180)

    def check(self) -> None:
        for key in _ABOVE_ZERO:
            value = getattr(self, key)
            if not value > 0:  # "not >": NaN fails too
                raise self.problem(key, f"expected a number > 0, got {value!r}")

    def failure(self, label: Any, face_px: float) -> tuple[str, str] | None:
        """(status, detail) of the first check ``label`` fails, or None when it passes all."""
        score, presence, residual = (float(v) for v in (label.detector_score, label.presence, label.residual))
        yaw, pitch, roll = (abs(float(v)) for v in label.angles)
        checks = (
            (
                "detector_score",
                not score >= self.min_detector_score,  # "not >=": NaN fails too
                f"detector score {score:.3f} < {self.min_detector_score:g}",
            ),
            (
                "presence",
                not presence >= self.min_presence,
                f"presence {presence:.3f} < {self.min_presence:g}",
            ),
            (
                "residual",
                not residual <= self.max_residual,
                f"Procrustes residual {residual:.3f} cm > {self.max_residual:g}",
            ),
            ("face_px", not face_px >= self.min_face_px, f"face {face_px:.0f} px < {self.min_face_px:g} px"),
            ("yaw", not yaw <= self.max_abs_yaw, f"|yaw| {yaw:.1f} > {self.max_abs_yaw:g} deg"),
            ("pitch", not pitch <= self.max_abs_pitch, f"|pitch| {pitch:.1f} > {self.max_abs_pitch:g} deg"),
            ("roll", not roll <= self.max_abs_roll, f"|roll| {roll:.1f} > {self.max_abs_roll:g} deg"),
        )
        return next(((status, detail) for status, failed, detail in checks if failed), None)


@dataclass(frozen=True)
class PseudolabelConfig(Config, section="pseudolabel"):
    """The ``pseudolabel:`` block of parameters_pseudolabel.yml (see that file for every knob)."""

    pools: dict[str, PoolConfig] = field(default_factory=dict)
    image_size: int = knob(128, lo=16, hi=1024)
    margin: float = knob(DEFAULT_MARGIN, lo=0, hi=2)
    max_faces_per_image: int = knob(1, lo=1)
    thresholds: Thresholds = field(default_factory=Thresholds)
    limit: int | None = knob(None, lo=1)  # photos per pool, spread evenly; None: all
    workers: int | None = knob(None, lo=1)  # processes, each with a teacher; None: one per CPU
    threads: int = knob(1, lo=1)  # TFLite threads per teacher

    def check(self) -> None:
        for name in self.pools:
            if not isinstance(name, str) or not POOL_NAME.match(name):
                raise self.problem("pools", f"pool name {name!r} must be letters, digits, _ or -")
