"""Face detectors for inference, and the mapping from a detector's box to the crop the model expects.

A detector answers ``detect(image, key) -> [Detection]``; ``key`` names the image (file key or
frame index) so user-supplied boxes can be looked up. Three detectors exist:

- ``dlib``: dlib's HOG + linear SVM detector (PyPI ``dlib-bin``; the model is compiled into the
  library, so it works offline). It finds near-frontal faces: on the 200 images of aflw2000-dev
  (upsample 0, threshold 0) it found 94% of the faces with |yaw| <= 30 deg, 62% at 30-45, 39% at
  45-60, 20% at 60-75 and 13% at 75-90 (75% overall; threshold -0.2: 95/62/50/35/25%, 79%), and
  every frame of a 1,337-frame webcam clip of a near-frontal head. It finds none of our synthetic
  (rendered) heads. Profile faces need another detector or ``--boxes``.
- ``boxes``: boxes from a JSON file ``{key: [[x0, y0, x1, y1(, score)], ...]}`` in original image
  pixels; the key is the image's path relative to the input folder (a single image: its file
  name), or the path as given, or the frame number of a video.
- ``whole``: the whole image is one face (for images that already are face crops).

Training crops are ``crops.box_from_landmarks(68 landmarks, margin)``: a square around the landmarks'
bounding box, enlarged by ``margin`` per side. A detector box is a different box, so
:class:`CropMapping` converts it: it estimates the landmarks' box (side ``scale`` x the detector
box's longer side, centre moved by ``shift`` x that side) and hands its corners to
``box_from_landmarks`` with the training margin. The dlib mapping was fitted on aflw2000-dev (140
faces with |yaw| < 45 deg that dlib found): landmark extent / dlib side = 0.98 (median 0.99,
sd 0.09), landmark-box centre below the dlib centre by 0.06 sides, no horizontal offset. The
mapped crops overlap the landmark crops with median IoU 0.80 on near-frontal faces (0.46 without
the margin). User boxes default to the identity mapping plus the training margin.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from headpose.data.crops import DEFAULT_MARGIN, box_from_landmarks
from headpose.errors import ConfigError, DatasetError


@dataclass(frozen=True)
class Detection:
    """A face box ``(x0, y0, x1, y1)`` in image pixels and a confidence in [0, 1]."""

    box: tuple[float, float, float, float]
    score: float = 1.0


@dataclass(frozen=True)
class CropMapping:
    """Detector box -> training crop box (see the module docstring)."""

    scale: float = 1.0                        # landmark-box side / detector-box side
    shift: tuple[float, float] = (0.0, 0.0)   # landmark-box centre - detector-box centre, in detector sides
    margin: float = DEFAULT_MARGIN            # crops.box_from_landmarks margin used in training

    def __post_init__(self) -> None:
        if not (self.scale > 0 and math.isfinite(self.scale)):
            raise ConfigError(f"crop mapping: scale must be a positive number, got {self.scale!r}")
        if self.margin < 0:
            raise ConfigError(f"crop mapping: margin must be >= 0, got {self.margin!r}")

    def crop_box(self, box: Any) -> np.ndarray:
        x0, y0, x1, y1 = np.asarray(box, np.float64)
        side = max(x1 - x0, y1 - y0)
        centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2]) + np.asarray(self.shift, np.float64) * side
        half = side * self.scale / 2
        return box_from_landmarks(np.stack([centre - half, centre + half]), self.margin)


class FaceDetector(Protocol):
    name: str
    mapping: CropMapping

    def detect(self, image: np.ndarray, key: str) -> list[Detection]:
        """Faces in a uint8 (H, W, 3) RGB image; ``key`` names it (file key or frame index)."""
        ...


DLIB_MAPPING = CropMapping(scale=1.0, shift=(0.0, 0.06))


@dataclass
class DlibHogDetector:
    """dlib's frontal HOG detector. ``upsample`` finds faces smaller than ~80 px at ~4x the cost;
    ``threshold`` is added to the SVM's decision threshold (lower finds more, with more false
    positives); images whose longer side exceeds ``max_side`` are detected on a downscaled copy."""

    upsample: int = 0
    threshold: float = 0.0
    max_side: int = 1280
    mapping: CropMapping = DLIB_MAPPING
    name: str = field(default="dlib", init=False)

    def __post_init__(self) -> None:
        try:
            import dlib
        except ImportError as exc:
            raise ConfigError("the dlib face detector needs the 'dlib-bin' package (pip install dlib-bin), "
                              "or pass --boxes / --detector whole") from exc
        self._detector = dlib.get_frontal_face_detector()

    def detect(self, image: np.ndarray, key: str) -> list[Detection]:
        h, w = image.shape[:2]
        factor = min(1.0, self.max_side / max(h, w))
        small = image if factor == 1.0 else cv2.resize(image, (round(w * factor), round(h * factor)),
                                                       interpolation=cv2.INTER_AREA)
        rects, scores, _ = self._detector.run(np.ascontiguousarray(small), self.upsample, self.threshold)
        # dlib's right/bottom are inclusive pixel indices; scores are SVM margins, squashed to (0, 1)
        # by a logistic (a ranking, not a calibrated probability).
        return [Detection(tuple(v / factor for v in (r.left(), r.top(), r.right() + 1, r.bottom() + 1)),
                          1.0 / (1.0 + math.exp(-s)))
                for r, s in zip(rects, scores, strict=True)]


@dataclass
class WholeImageDetector:
    """The whole image is one face: for inputs that already are face crops."""

    mapping: CropMapping = CropMapping(scale=1.0, shift=(0.0, 0.0), margin=0.0)
    name: str = field(default="whole", init=False)

    def detect(self, image: np.ndarray, key: str) -> list[Detection]:
        h, w = image.shape[:2]
        return [Detection((0.0, 0.0, float(w), float(h)), 1.0)]


@dataclass
class BoxesDetector:
    """User-supplied boxes, looked up by key; an image without an entry has no face.

    Boxes are read as landmark-like face boxes, so the default mapping only adds the training margin.
    """

    boxes: Mapping[str, list[Detection]]
    mapping: CropMapping = CropMapping()
    name: str = field(default="boxes", init=False)

    def detect(self, image: np.ndarray, key: str) -> list[Detection]:
        return list(self.boxes.get(key, []))

    def has(self, key: str) -> bool:
        return key in self.boxes


def load_boxes(path: str | Path) -> dict[str, list[Detection]]:
    """``{key: [[x0, y0, x1, y1], ...]}`` (an optional 5th number is the score) from a JSON file."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise DatasetError(f"{path}: boxes file not found") from None
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: not a readable JSON boxes file ({exc})") from exc
    if not isinstance(raw, dict):
        raise DatasetError(f"{path}: expected a JSON object {{file or frame index: [[x0, y0, x1, y1], ...]}}")
    out: dict[str, list[Detection]] = {}
    for key, boxes in raw.items():
        if not isinstance(boxes, list):
            raise DatasetError(f"{path}: entry {key!r} must be a list of boxes, got {type(boxes).__name__}")
        out[str(key)] = [_parse_box(path, key, b) for b in boxes]
    return out


def _parse_box(path: Path, key: str, box: Any) -> Detection:
    ok = (isinstance(box, list) and len(box) in (4, 5)
          and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in box))
    if not ok or box[2] <= box[0] or box[3] <= box[1]:
        raise DatasetError(f"{path}: entry {key!r} has a bad box {box!r}; "
                           "expected [x0, y0, x1, y1] or [x0, y0, x1, y1, score] with x1 > x0 and y1 > y0")
    return Detection(tuple(float(v) for v in box[:4]), float(box[4]) if len(box) == 5 else 1.0)


DETECTORS = {"dlib": DlibHogDetector, "whole": WholeImageDetector}


def create_detector(name: str, **kwargs: Any) -> FaceDetector:
    if name not in DETECTORS:
        raise ConfigError(f"unknown face detector {name!r}; choose one of {sorted(DETECTORS)} "
                          "or pass --boxes")
    return DETECTORS[name](**kwargs)
