"""What a face detector answers, and how its box becomes the crop the model expects.

A detector answers ``detect(image, key) -> [Detection]`` (:class:`FaceDetector`); ``key`` names the
image (file key or frame index) so user-supplied boxes can be looked up. The detectors themselves
are :mod:`headpose.inference.detect`'s.

Training crops are ``crops.box_from_landmarks(68 landmarks, margin)``: a square around the landmarks'
bounding box, enlarged by ``margin`` per side. A detector box is a different box, so
:class:`CropMapping` converts it: it estimates the landmarks' box (side ``scale`` x the detector
box's longer side, centre moved by ``shift`` x that side) and hands its corners to
``box_from_landmarks`` with the training margin. Each detector carries the mapping fitted for it
(:mod:`headpose.inference.blazeface_detector`, :mod:`headpose.inference.dlib_detector`); user
boxes default to the identity mapping plus the training margin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from headpose.config import Config, knob
from headpose.data.crops import DEFAULT_MARGIN, box_from_landmarks


@dataclass(frozen=True)
class Detection:
    """A face box ``(x0, y0, x1, y1)`` in image pixels and a confidence in [0, 1]."""

    box: tuple[float, float, float, float]
    score: float = 1.0


@dataclass(frozen=True)
class CropMapping(Config, section="crop_mapping"):
    """Detector box -> training crop box (see the module docstring)."""

    scale: float = knob(1.0, lo=0.0)  # landmark-box side / detector-box side (> 0)
    shift: tuple[float, float] = (0.0, 0.0)  # landmark-box centre - detector-box centre, in detector sides
    margin: float = knob(DEFAULT_MARGIN, lo=0.0)  # crops.box_from_landmarks margin used in training

    def check(self) -> None:
        if not (self.scale > 0 and math.isfinite(self.scale)):
            raise self.problem("scale", f"expected a positive finite number, got {self.scale!r}")

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
