"""The one owner of face crops: boxes, crop + resize, and landmarks in crop coordinates.

A box is ``(x0, y0, x1, y1)`` in image pixels, pixel centres at integer coordinates (OpenCV).
Cropping snaps the box to whole pixels (so no resampling before the resize) and
:func:`to_crop_coords` applies the same snapped box, so landmarks and pixels always agree.
"""

from __future__ import annotations

import cv2
import numpy as np

# Box side = landmark extent * (1 + 2 * margin); 0.25 keeps the whole face plus some forehead and
# ears, close to the Hopenet/6DRepNet AFLW2000 crops (their loose box is ~1.6-2x the landmarks).
DEFAULT_MARGIN = 0.25
BORDERS = {"replicate": cv2.BORDER_REPLICATE, "constant": cv2.BORDER_CONSTANT}


def box_from_landmarks(pts2d: np.ndarray, margin: float = DEFAULT_MARGIN) -> np.ndarray:
    """Square box centred on the landmarks' bounding box, its side enlarged by ``margin`` per side.

    Non-finite points are ignored; raises ValueError when no finite point is left.
    """
    pts = np.asarray(pts2d, np.float64).reshape(-1, 2)
    pts = pts[np.isfinite(pts).all(1)]
    if len(pts) == 0:
        raise ValueError("box_from_landmarks: no finite landmark")
    lo, hi = pts.min(0), pts.max(0)
    side = max(float((hi - lo).max()), 1.0) * (1.0 + 2.0 * margin)
    return square_box((lo + hi) / 2.0, side)


def square_box(center: np.ndarray, side: float) -> np.ndarray:
    """Box of ``side`` pixels centred on ``center`` (x, y)."""
    cx, cy = np.asarray(center, np.float64)
    half = side / 2.0
    return np.array([cx - half, cy - half, cx + half, cy + half])


def snap_box(box: np.ndarray) -> np.ndarray:
    """Integer box actually cropped: rounded corner, rounded side of at least one pixel."""
    x0, y0, x1, y1 = np.asarray(box, np.float64)
    if not np.isfinite([x0, y0, x1, y1]).all():
        raise ValueError(f"crop box must be finite, got {box}")
    w, h = max(1, round(x1 - x0)), max(1, round(y1 - y0))
    left, top = round(x0), round(y0)
    return np.array([left, top, left + w, top + h], np.int64)


def crop_resize(image: np.ndarray, box: np.ndarray, size: int, border: str = "replicate") -> np.ndarray:
    """Crop ``box`` out of a uint8 (H, W, 3) image and resize it to (size, size, 3).

    Parts of the box outside the image are padded (``border``: "replicate" or "constant" black),
    so a face at the image edge keeps its place in the crop. Channel order is preserved (RGB in,
    RGB out).
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"crop_resize expects a uint8 (H, W, 3) image, got {image.dtype} {image.shape}")
    if border not in BORDERS:
        raise ValueError(f"crop_resize: border must be one of {sorted(BORDERS)}, got {border!r}")
    x0, y0, x1, y1 = (int(v) for v in snap_box(box))
    h, w = image.shape[:2]
    pad = [max(0, -y0), max(0, y1 - h), max(0, -x0), max(0, x1 - w)]  # top, bottom, left, right
    patch = image[max(0, y0) : min(h, y1), max(0, x0) : min(w, x1)]
    if patch.size == 0:
        raise ValueError(f"crop box {box} does not overlap the {w}x{h} image")
    if any(pad):
        patch = cv2.copyMakeBorder(patch, *pad, BORDERS[border], value=(0, 0, 0))
    shrinking = patch.shape[0] > size or patch.shape[1] > size
    out = cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return np.ascontiguousarray(out, np.uint8)


def to_crop_coords(pts2d: np.ndarray, box: np.ndarray, size: int) -> np.ndarray:
    """Map image points (..., 2) into the pixel coordinates of ``crop_resize(image, box, size)``.

    Uses cv2.resize's pixel-centre alignment: source pixel ``i`` lands at ``(i + 0.5) * scale - 0.5``.
    """
    x0, y0, x1, y1 = snap_box(box)
    scale = np.array([size / (x1 - x0), size / (y1 - y0)])
    return (np.asarray(pts2d, np.float64) - [x0, y0] + 0.5) * scale - 0.5
