"""What the profiled head is drawn over: the photo's own scene, a synthetic tile, or a border fill.

"photo" keeps the scene where it was (as 300W-LP does) with the head's old silhouette filled from
its surroundings by push-pull, so no trace of the old face is left; "bank" composes a tile of
:mod:`headpose.synth.backgrounds` wherever the new head is not; "border" is a smooth fill of the
photo's border colours.
"""

from __future__ import annotations

import cv2
import numpy as np

from headpose.synth.backgrounds import (
    BACKGROUND_KEYS,
    background_bank,
    compose_background,
    sample_backgrounds,
)

HOLE_GROW = 0.06  # the old silhouette is grown by this share of the face size before filling


def photo_scene(source: np.ndarray, silhouette: np.ndarray, face_side: float) -> np.ndarray:
    """The photo with the head's (H, W) ``silhouette``, grown by HOLE_GROW of ``face_side``, filled."""
    return fill_holes(source, grow(silhouette, HOLE_GROW * face_side))


def grow(mask: np.ndarray, radius: float) -> np.ndarray:
    """``mask`` dilated by a disc of ``radius`` pixels (at least one)."""
    r = max(1, round(radius))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.dilate(mask.astype(np.uint8), disc).astype(bool)


def fill_holes(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``image`` (uint8 (H, W, 3)) with the ``hole`` pixels filled smoothly from their surroundings.

    Push-pull: mask-weighted means down a Gaussian pyramid, then each level's holes take the
    upsampled coarser level; known pixels keep their values. An all-hole image comes back black.
    """
    known = (~hole).astype(np.float32)
    levels = [(image.astype(np.float32) * known[..., None], known)]
    while min(levels[-1][1].shape) > 2:
        levels.append((cv2.pyrDown(levels[-1][0]), cv2.pyrDown(levels[-1][1])))
    colour, weight = levels[-1]
    filled = colour / np.maximum(weight, 1e-6)[..., None]
    for colour, weight in reversed(levels[:-1]):
        coarse = cv2.pyrUp(filled, dstsize=(weight.shape[1], weight.shape[0]))
        alpha = np.clip(weight, 0.0, 1.0)[..., None]
        filled = colour / np.maximum(weight, 1e-6)[..., None] * alpha + coarse * (1.0 - alpha)
    out = image.copy()
    out[hole] = np.clip(filled[hole] + 0.5, 0, 255).astype(np.uint8)
    return out


def border_background(source: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth (size, size, 3) fill of the photo's border colours: the centre (the face) is
    replaced by the border's mean, so nothing of the original face is left."""
    grid = cv2.resize(source, (4, 4), interpolation=cv2.INTER_AREA).astype(np.float32)
    ring = np.ones((4, 4), bool)
    ring[1:3, 1:3] = False
    grid[~ring] = grid[ring].mean(0)
    if rng.random() < 0.5:
        grid = grid[:, ::-1]
    out = cv2.resize(np.ascontiguousarray(grid), (size, size), interpolation=cv2.INTER_CUBIC)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def compose_bank_background(
    out: np.ndarray, zbuf: np.ndarray, rng: np.random.Generator, seed: int, noise: float
) -> None:
    """Fill ``out`` where the z-buffer holds no head with a random tile of background bank ``seed``."""
    size = out.shape[0]
    params = sample_backgrounds(rng, 1, size, noise)
    tile = background_bank(seed, size)[params["tile"][0]]
    compose_background(out, zbuf, tile, *(params[k][0] for k in BACKGROUND_KEYS))
