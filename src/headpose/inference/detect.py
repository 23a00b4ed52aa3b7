"""Face detectors for inference, and the mapping from a detector's box to the crop the model expects.

A detector answers ``detect(image, key) -> [Detection]``; ``key`` names the image (file key or
frame index) so user-supplied boxes can be looked up. Four detectors exist:

- ``blazeface`` (the default): MediaPipe's BlazeFace short-range detector, the one the MediaPipe
  teacher uses (:mod:`headpose.teacher.blazeface`, run by LiteRT; ~3 ms per image on one core).
  It finds profile faces too, and, with its tiled second level, faces down to ~5% of the image's
  longer side (see :class:`BlazeFaceFaceDetector`).
- ``dlib``: dlib's HOG + linear SVM detector (PyPI ``dlib-bin``; the model is compiled into the
  library, so it works offline). It finds near-frontal faces: on the 200 images of aflw2000-dev
  (upsample 0, threshold 0) it found 94% of the faces with |yaw| <= 30 deg, 62% at 30-45, 39% at
  45-60, 20% at 60-75 and 13% at 75-90 (75% overall; threshold -0.2: 95/62/50/35/25%, 79%), and
  every frame of a 1,337-frame webcam clip of a near-frontal head. It finds none of our synthetic
  (rendered) heads.
- ``boxes``: boxes from a JSON file ``{key: [[x0, y0, x1, y1(, score)], ...]}`` in original image
  pixels; the key is the image's path relative to the input folder (a single image: its file
  name), or the path as given, or the frame number of a video.
- ``whole``: the whole image is one face (for images that already are face crops).

Training crops are ``crops.box_from_landmarks(68 landmarks, margin)``: a square around the landmarks'
bounding box, enlarged by ``margin`` per side. A detector box is a different box, so
:class:`CropMapping` converts it: it estimates the landmarks' box (side ``scale`` x the detector
box's longer side, centre moved by ``shift`` x that side) and hands its corners to
``box_from_landmarks`` with the training margin. User boxes default to the identity mapping plus
the training margin.

The dlib mapping was fitted on aflw2000-dev (140 faces with |yaw| < 45 deg that dlib found):
landmark extent / dlib side = 0.98 (median 0.99, sd 0.09), landmark-box centre below the dlib
centre by 0.06 sides, no horizontal offset. The mapped crops overlap the landmark crops with
median IoU 0.80 on near-frontal faces (0.46 without the margin).

The BlazeFace mapping was fitted without any benchmark image: on 800 unlabelled photos (400 drawn
at random, seed 0, from each of the LFW and UTKFace pools; UTKFace's tight 200 px chips were padded
by a quarter of their side so the detector sees the whole head, coordinates kept in the original
image), BlazeFace's box was compared with ``box_from_landmarks(label.landmarks_68(), 0)`` of the
MediaPipe teacher's landmarks (``MediaPipeTeacher(refine=False).label_image``'s protocol). Of 830
detections, the 606 from 593 photos whose 68 landmarks all lie inside the image and whose landmark
presence exceeds 0.9 give: landmark-box side / BlazeFace side = 0.93 (median 0.927, mean 0.936,
sd 0.061; LFW 0.922, UTKFace 0.942), landmark-box centre below the BlazeFace centre by 0.05 sides
(median 0.050, sd 0.037) and no horizontal offset (median 0.000, sd 0.019). The medians hardly move
with the teacher's |yaw| (scale 0.93/0.92/0.94, vertical shift 0.051/0.049/0.052 at 0-15/15-30/30-45
deg; the pools hold few faces beyond 45 deg), so one mapping serves all poses.

Measured on aflw2000-dev (198 faces within the +-99 deg protocol; a face counts as found when a
mapped crop overlaps its ground-truth-landmark crop, ``box_from_landmarks(pt3d_68, 0.25)``, with
IoU >= 0.3; IoU is the median over found faces):

    |yaw| (deg)       0-30   30-60   60-75   75-99   all
    faces              132      39      20       7   198
    blazeface found   100%    100%     95%    100%   99%
    dlib found         95%     54%     20%     14%   76%
    blazeface IoU     0.88    0.85    0.87    0.86   0.88
    dlib IoU          0.80    0.66    0.62    0.63   0.78

BlazeFace took 2.8 ms per image there, dlib 21.9 ms. (The aflw2000 landmarks are a slightly wider
box than the teacher's 68-point subset: 0.97 BlazeFace sides, centre 0.05 below -- a difference of
landmark definitions, left uncorrected so the benchmark stays out of the fit.) Faces pasted at
random into larger grey images: without tiles BlazeFace found 100/97/90/75/8% of faces spanning
0.44/0.22/0.15/0.11/0.07 of the image side, with the default two levels 100/100/98/98/93%
(0.055: 75%).
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

from headpose.config import Config, knob
from headpose.data.crops import DEFAULT_MARGIN, box_from_landmarks
from headpose.errors import ConfigError, InputError


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


DLIB_MAPPING = CropMapping(scale=1.0, shift=(0.0, 0.06))
BLAZEFACE_MAPPING = CropMapping(scale=0.93, shift=(0.0, 0.05))


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


@dataclass
class BlazeFaceFaceDetector(Config, section="blazeface"):
    """MediaPipe's BlazeFace (short range) through :class:`headpose.teacher.blazeface.BlazeFaceDetector`.

    BlazeFace sees the image letterboxed into 128 x 128 px, so it misses faces smaller than about a
    tenth of the image's longer side. Images whose longer side is at least ``2 * min_tile`` px are
    therefore also scanned in ``tile_levels - 1`` finer levels of square tiles (level ``k``: tiles of
    1/2^k of the longer side, overlapping by half), on a copy downscaled so that the finest tiles
    are ``min_tile`` px. A tile's detections that touch one of its inner edges are dropped (a
    neighbouring tile holds that face whole), and every level's detections are merged by
    BlazeFace's weighted NMS.
    """

    min_score: float = knob(0.5, lo=0.0, hi=1.0)
    tile_levels: int = knob(2, lo=1)
    min_tile: int = knob(256, lo=32)
    threads: int = knob(1, lo=1)
    mapping: CropMapping = BLAZEFACE_MAPPING
    name: str = field(default="blazeface", init=False)

    def check(self) -> None:
        if not 0.0 < self.min_score < 1.0:
            raise self.problem(
                "min_score", f"expected a score strictly between 0 and 1, got {self.min_score!r}"
            )

    def __post_init__(self) -> None:
        super().__post_init__()
        from headpose.teacher.blazeface import BlazeFaceDetector

        self._detector = BlazeFaceDetector(min_score=self.min_score, threads=self.threads)

    def detect(self, image: np.ndarray, key: str = "") -> list[Detection]:
        from headpose.teacher.blazeface import weighted_nms

        image = np.asarray(image)
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=2)
        # The finest tiles need no more than min_tile px (BlazeFace sees 128): detect on a copy that small.
        full_h, full_w = image.shape[:2]
        factor = min(1.0, self.min_tile * 2 ** (self.tile_levels - 1) / max(full_h, full_w))
        if factor < 1.0:
            image = cv2.resize(
                image,
                (max(1, round(full_w * factor)), max(1, round(full_h * factor))),
                interpolation=cv2.INTER_AREA,
            )
        h, w = image.shape[:2]
        boxes, scores = [], []
        for x0, y0, x1, y1 in _tiles(w, h, self.tile_levels, self.min_tile):
            for face in self._detector.detect(np.ascontiguousarray(image[y0:y1, x0:x1])):
                box = np.asarray(face.box) + [x0, y0, x0, y0]
                edge = max(2.0, 0.01 * (x1 - x0))
                touches_inner_edge = (
                    (x0 > 0 and box[0] < x0 + edge)
                    or (y0 > 0 and box[1] < y0 + edge)
                    or (x1 < w and box[2] > x1 - edge)
                    or (y1 < h and box[3] > y1 - edge)
                )
                if not touches_inner_edge:
                    boxes.append(box)
                    scores.append(face.score)
        if not boxes:
            return []
        boxes_arr, scores_arr = np.array(boxes), np.array(scores)
        merged = weighted_nms(
            boxes_arr, np.zeros((len(boxes), 0, 2)), scores_arr, self._detector.iou_threshold
        )
        return [Detection(tuple(float(v) / factor for v in box), float(score)) for box, _, score in merged]


def _tiles(w: int, h: int, levels: int, min_tile: int) -> list[tuple[int, int, int, int]]:
    """The whole image, then per finer level square tiles of 1/2^k of the longer side, stride half a tile."""
    out = [(0, 0, w, h)]
    side = max(w, h)
    for k in range(1, levels):
        tile = side // 2**k
        if tile < min_tile:
            break
        ys, xs = _tile_starts(h, tile), _tile_starts(w, tile)
        out += [(x, y, min(w, x + tile), min(h, y + tile)) for y in ys for x in xs]
    return out


def _tile_starts(extent: int, tile: int) -> list[int]:
    """Tile origins along one side: every half tile, and one flush with the end."""
    if extent <= tile:
        return [0]
    last = extent - tile
    return sorted({*range(0, last, tile // 2), last})


DETECTORS = {"blazeface": BlazeFaceFaceDetector, "dlib": DlibHogDetector, "whole": WholeImageDetector}


def create_detector(name: str, **kwargs: Any) -> FaceDetector:
    if name not in DETECTORS:
        raise ConfigError(
            f"unknown face detector {name!r}; choose one of {sorted(DETECTORS)} or pass --boxes"
        )
    return DETECTORS[name](**kwargs)
