"""Facial features painted on the head: soft masks of brows, eyes, nostrils and lips in UV space.

The renderer (:mod:`headpose.synth.render`) looks texels up by UV and paints each mask in a
per-image colour; only the triangles that touch a mask sample the texture.
"""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np

from headpose.synth.head_model import FACE, head_model
from headpose.synth.landmarks import (
    BROWS,
    EYES,
    LIP_LOWER_OUTER,
    LIP_UPPER_INNER,
    LIP_UPPER_OUTER,
    NOSTRILS,
    canonical_mesh,
)

# Feature channels of :func:`feature_texture`; the renderer paints them in per-image colours.
FEATURES = ("brow", "sclera", "iris", "dark", "lips")


def _uv_points(uvs: np.ndarray, index, size: int) -> np.ndarray:
    return np.round(uvs[index] * size * 16).astype(np.int32)  # 4 fractional bits for cv2's shift


@cache
def feature_texture(size: int = 256) -> np.ndarray:
    """(size, size, len(FEATURES)) float32 soft masks of brows, eyes, nostrils, mouth in UV space.

    The renderer looks texels up by UV and paints each mask in a per-image colour; weights sum to
    at most 1 (the rest is skin). Non-face vertices use UV (0, 0), which lies outside every mask.
    """
    uvs = canonical_mesh()["uvs"].astype(np.float64)
    verts = canonical_mesh()["vertices"].astype(np.float64)
    layer = {name: np.zeros((size, size), np.float32) for name in FEATURES}
    cm = np.linalg.norm(uvs[33] - uvs[133]) / np.linalg.norm(verts[33] - verts[133])  # uv units per cm
    px = lambda length_cm: max(1, int(round(length_cm * cm * size)))  # noqa: E731
    draw = dict(color=1.0, lineType=cv2.LINE_AA, shift=4)
    for brow in BROWS:
        cv2.fillPoly(layer["brow"], [_uv_points(uvs, brow, size)], **draw)
    for corner, upper, other, lower in EYES:
        outline = [corner, *upper, other, *lower[::-1]]
        eye = np.zeros_like(layer["sclera"])
        cv2.fillPoly(eye, [_uv_points(uvs, outline, size)], **draw)
        centre = tuple(int(c) for c in _uv_points(uvs, upper + lower, size).mean(0))
        iris, pupil = np.zeros_like(eye), np.zeros_like(eye)
        cv2.circle(iris, centre, px(0.55) * 16, thickness=-1, **draw)
        cv2.circle(pupil, centre, px(0.22) * 16, thickness=-1, **draw)
        layer["sclera"] += eye
        layer["iris"] += iris * eye
        layer["dark"] += pupil * eye
        for lid, thickness in ((upper, 2), (lower, 1)):  # lashes: the upper lid's line is heavier
            lid_line = _uv_points(uvs, [corner, *lid, other], size)
            cv2.polylines(layer["dark"], [lid_line], False, thickness=thickness, **draw)
    cv2.fillPoly(layer["lips"], [_uv_points(uvs, LIP_UPPER_OUTER + LIP_LOWER_OUTER[::-1], size)], **draw)
    cv2.polylines(layer["dark"], [_uv_points(uvs, LIP_UPPER_INNER, size)], False, thickness=2, **draw)
    for nostril in NOSTRILS:
        centre = tuple(int(c) for c in _uv_points(uvs, nostril, size).mean(0))
        cv2.ellipse(layer["dark"], centre, (px(0.22) * 16, px(0.13) * 16), 0, 0, 360, thickness=-1, **draw)
    m = {k: np.clip(cv2.GaussianBlur(a, (3, 3), 0), 0, 1) for k, a in layer.items()}
    dark = m["dark"]
    weights = {
        "brow": m["brow"] * (1 - dark),
        "sclera": m["sclera"] * (1 - m["iris"]) * (1 - dark),
        "iris": m["iris"] * (1 - dark),
        "dark": dark,
        "lips": m["lips"] * (1 - dark) * (1 - m["sclera"]),
    }
    return np.ascontiguousarray(np.stack([weights[k] for k in FEATURES], -1), np.float32)


@cache
def feature_triangles(size: int = 256) -> np.ndarray:
    """(T,) bool: face triangles whose UV footprint touches a feature mask of ``feature_texture(size)``.

    The renderer samples the texture only for these; every other triangle is plain skin or hair.
    """
    model = head_model()
    touched = cv2.dilate((feature_texture(size).sum(-1) > 0).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    corners = model.uvs[model.triangles] * size  # (T, 3, 2)
    lo = np.clip(np.floor(corners.min(1)).astype(int), 0, size - 1)
    hi = np.clip(np.ceil(corners.max(1)).astype(int), 0, size - 1)
    on_face = (model.part[model.triangles] == FACE).all(1)
    return np.array(
        [
            face and touched[y0 : y1 + 1, x0 : x1 + 1].any()
            for face, (x0, y0), (x1, y1) in zip(on_face, lo, hi)
        ]
    )
