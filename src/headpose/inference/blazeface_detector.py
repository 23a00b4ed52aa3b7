"""The ``blazeface`` face detector (the default): MediaPipe's BlazeFace short-range detector, the one
the MediaPipe teacher uses (:mod:`headpose.teacher.blazeface`, run by LiteRT; ~3 ms per image on one
core). It finds profile faces too, and, with its tiled second level, faces down to ~5% of the image's
longer side (see :class:`BlazeFaceFaceDetector`).

Its crop mapping (:class:`~headpose.inference.detection.CropMapping`) was fitted without any
benchmark image: on 800 unlabelled photos (400 drawn at random, seed 0, from each of the LFW and
UTKFace pools; UTKFace's tight 200 px chips were padded by a quarter of their side so the detector
sees the whole head, coordinates kept in the original image), BlazeFace's box was compared with
``box_from_landmarks(label.landmarks_68(), 0)`` of the MediaPipe teacher's landmarks
(``MediaPipeTeacher(refine=False).label_image``'s protocol). Of 830 detections, the 606 from 593
photos whose 68 landmarks all lie inside the image and whose landmark presence exceeds 0.9 give:
landmark-box side / BlazeFace side = 0.93 (median 0.927, mean 0.936, sd 0.061; LFW 0.922, UTKFace
0.942), landmark-box centre below the BlazeFace centre by 0.05 sides (median 0.050, sd 0.037) and no
horizontal offset (median 0.000, sd 0.019). The medians hardly move with the teacher's |yaw| (scale
0.93/0.92/0.94, vertical shift 0.051/0.049/0.052 at 0-15/15-30/30-45 deg; the pools hold few faces
beyond 45 deg), so one mapping serves all poses. (The aflw2000 landmarks are a slightly wider box
than the teacher's 68-point subset: 0.97 BlazeFace sides, centre 0.05 below -- a difference of
landmark definitions, left uncorrected so the benchmark stays out of the fit.)

Faces pasted at random into larger grey images: without tiles BlazeFace found 100/97/90/75/8% of
faces spanning 0.44/0.22/0.15/0.11/0.07 of the image side, with the default two levels
100/100/98/98/93% (0.055: 75%).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from headpose.config import Config, knob
from headpose.inference.detection import CropMapping, Detection

BLAZEFACE_MAPPING = CropMapping(scale=0.93, shift=(0.0, 0.05))


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
