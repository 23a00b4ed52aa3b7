"""Face detectors for inference by name, and boxes the user supplies.

A detector answers ``detect(image, key) -> [Detection]``
(:class:`~headpose.inference.detection.FaceDetector`); its box becomes the model's crop through its
:class:`~headpose.inference.detection.CropMapping`. Four detectors exist:

- ``blazeface`` (the default): MediaPipe's BlazeFace short-range detector
  (:mod:`headpose.inference.blazeface_detector`). It finds profile faces too, and faces down to ~5%
  of the image's longer side.
- ``dlib``: dlib's HOG + linear SVM detector (:mod:`headpose.inference.dlib_detector`). It finds
  near-frontal faces.
- ``boxes``: boxes from a JSON file ``{key: [[x0, y0, x1, y1(, score)], ...]}`` in original image
  pixels; the key is the image's path relative to the input folder (a single image: its file
  name), or the path as given, or the frame number of a video.
- ``whole``: the whole image is one face (for images that already are face crops).

Measured on aflw2000-dev (198 faces within the +-99 deg protocol; a face counts as found when a
mapped crop overlaps its ground-truth-landmark crop, ``box_from_landmarks(pt3d_68, 0.25)``, with
IoU >= 0.3; IoU is the median over found faces):

    |yaw| (deg)       0-30   30-60   60-75   75-99   all
    faces              132      39      20       7   198
    blazeface found   100%    100%     95%    100%   99%
    dlib found         95%     54%     20%     14%   76%
    blazeface IoU     0.88    0.85    0.87    0.86   0.88
    dlib IoU          0.80    0.66    0.62    0.63   0.78

BlazeFace took 2.8 ms per image there, dlib 21.9 ms.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from headpose.errors import ConfigError, InputError
from headpose.inference.blazeface_detector import BlazeFaceFaceDetector
from headpose.inference.detection import CropMapping, Detection, FaceDetector
from headpose.inference.dlib_detector import DlibHogDetector


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
        raise InputError(f"{path}: boxes file not found") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable JSON boxes file ({exc})") from exc
    if not isinstance(raw, dict):
        raise InputError(f"{path}: expected a JSON object {{file or frame index: [[x0, y0, x1, y1], ...]}}")
    out: dict[str, list[Detection]] = {}
    for key, boxes in raw.items():
        if not isinstance(boxes, list):
            raise InputError(f"{path}: entry {key!r} must be a list of boxes, got {type(boxes).__name__}")
        out[str(key)] = [_parse_box(path, key, b) for b in boxes]
    return out


def _parse_box(path: Path, key: str, box: Any) -> Detection:
    ok = (
        isinstance(box, list)
        and len(box) in (4, 5)
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in box)
    )
    if not ok or box[2] <= box[0] or box[3] <= box[1]:
        raise InputError(
            f"{path}: entry {key!r} has a bad box {box!r}; "
            "expected [x0, y0, x1, y1] or [x0, y0, x1, y1, score] with x1 > x0 and y1 > y0"
        )
    return Detection(tuple(float(v) for v in box[:4]), float(box[4]) if len(box) == 5 else 1.0)


DETECTORS = {"blazeface": BlazeFaceFaceDetector, "dlib": DlibHogDetector, "whole": WholeImageDetector}


def create_detector(name: str, **kwargs: Any) -> FaceDetector:
    if name not in DETECTORS:
        raise ConfigError(
            f"unknown face detector {name!r}; choose one of {sorted(DETECTORS)} or pass --boxes"
        )
    return DETECTORS[name](**kwargs)
