"""The ``dlib`` face detector: dlib's HOG + linear SVM (PyPI ``dlib-bin``; the model is compiled
into the library, so it works offline).

It finds near-frontal faces: on the 200 images of aflw2000-dev (upsample 0, threshold 0) it found
94% of the faces with |yaw| <= 30 deg, 62% at 30-45, 39% at 45-60, 20% at 60-75 and 13% at 75-90
(75% overall; threshold -0.2: 95/62/50/35/25%, 79%), and every frame of a 1,337-frame webcam clip
of a near-frontal head. It finds none of our synthetic (rendered) heads.

Its crop mapping (:class:`~headpose.inference.detection.CropMapping`) was fitted on aflw2000-dev
(140 faces with |yaw| < 45 deg that dlib found): landmark extent / dlib side = 0.98 (median 0.99,
sd 0.09), landmark-box centre below the dlib centre by 0.06 sides, no horizontal offset. The
mapped crops overlap the landmark crops with median IoU 0.80 on near-frontal faces (0.46 without
the margin).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from headpose.config import Config, knob
from headpose.errors import ConfigError
from headpose.inference.detection import CropMapping, Detection

DLIB_MAPPING = CropMapping(scale=1.0, shift=(0.0, 0.06))


@dataclass
class DlibHogDetector(Config, section="dlib"):
    """dlib's frontal HOG detector. ``upsample`` finds faces smaller than ~80 px at ~4x the cost;
    ``threshold`` is added to the SVM's decision threshold (lower finds more, with more false
    positives); images whose longer side exceeds ``max_side`` are detected on a downscaled copy."""

    upsample: int = knob(0, lo=0)
    threshold: float = 0.0
    max_side: int = knob(1280, lo=1)
    mapping: CropMapping = DLIB_MAPPING
    name: str = field(default="dlib", init=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        try:
            import dlib
        except ImportError as exc:
            raise ConfigError(
                "the dlib face detector needs the 'dlib-bin' package (pip install dlib-bin), "
                "or pass --boxes / --detector whole"
            ) from exc
        self._detector = dlib.get_frontal_face_detector()

    def detect(self, image: np.ndarray, key: str) -> list[Detection]:
        h, w = image.shape[:2]
        factor = min(1.0, self.max_side / max(h, w))
        small = (
            image
            if factor == 1.0
            else cv2.resize(image, (round(w * factor), round(h * factor)), interpolation=cv2.INTER_AREA)
        )
        rects, scores, _ = self._detector.run(np.ascontiguousarray(small), self.upsample, self.threshold)
        # dlib's right/bottom are inclusive pixel indices; scores are SVM margins, squashed to (0, 1)
        # by a logistic (a ranking, not a calibrated probability).
        return [
            Detection(
                tuple(v / factor for v in (r.left(), r.top(), r.right() + 1, r.bottom() + 1)),
                1.0 / (1.0 + math.exp(-s)),
            )
            for r, s in zip(rects, scores, strict=True)
        ]
