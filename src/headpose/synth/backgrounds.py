"""What surrounds and covers the synthetic head: background tiles and occluders.

Backgrounds are windows of a bank of tiles (smooth noise, blobs, stripes, indoor-like clutter)
drawn once per (seed, image size), each mirrored or not, recoloured and noised per image and
composed wherever the z-buffer holds no head. Occluders (ellipses, rectangles, skin-coloured hands)
are drawn over a random landmark afterwards. Profiling (:mod:`headpose.synth.profiling`) draws its
"bank" backgrounds from here too.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import cv2
import numpy as np
from numba import njit

from headpose.synth.config import BANK_STREAM, SynthConfig, random_stream

BANK_SIZE = 30  # background tiles, drawn once per (seed, image_size)


BACKGROUND_KEYS = ("offset", "flip", "mix", "bias", "gradient", "noise", "noise_seed")


def sample_backgrounds(
    rng: np.random.Generator, n: int, image_size: int, noise: float
) -> dict[str, np.ndarray]:
    """Per image: which bank tile, where, mirrored or not, a random colour transform and pixel noise
    up to ``noise``; the values :func:`compose_background` takes, under :data:`BACKGROUND_KEYS`."""
    spare = background_tile_side(image_size) - image_size
    gain = rng.uniform(0.5, 1.2, (n, 1, 1))
    # Desaturate toward grey by a random amount: real backgrounds are rarely as vivid as the tiles.
    saturation = rng.uniform(0.0, 1.0, (n, 1, 1))
    grey = np.tile([0.299, 0.587, 0.114], (3, 1))
    return {
        "tile": rng.integers(0, BANK_SIZE, n),
        "offset": rng.integers(0, spare + 1, (n, 2)),
        "flip": rng.random(n) < 0.5,
        "mix": (
            gain * (saturation * np.eye(3) + (1 - saturation) * grey + rng.normal(0, 0.05, (n, 3, 3)))
        ).astype(np.float32),
        "bias": rng.uniform(-0.2, 0.2, (n, 3)).astype(np.float32),
        "gradient": rng.normal(0, 0.25, (n, 2, 3)).astype(np.float32),
        "noise": rng.uniform(0, noise, n).astype(np.float32),
        "noise_seed": rng.integers(1, 2**62, n, dtype=np.uint64),
    }


def background_tile_side(image_size: int) -> int:
    return image_size * 3 // 2


@cache
def background_bank(seed: int, image_size: int) -> np.ndarray:
    """(BANK_SIZE, side, side, 3) float32 tiles in [0, 1]: smooth noise, blobs, stripes, clutter."""
    rng = random_stream(seed, BANK_STREAM)
    side = background_tile_side(image_size)
    makers = (_smooth_noise, _blobs, _stripes, _clutter)
    return np.stack([makers[i % len(makers)](rng, side) for i in range(BANK_SIZE)]).astype(np.float32)


def _smooth_noise(rng: np.random.Generator, side: int) -> np.ndarray:
    out = np.zeros((side, side, 3), np.float32)
    for octave, weight in ((rng.integers(2, 5), 0.7), (rng.integers(6, 16), 0.3)):
        grid = rng.random((octave, octave, 3)).astype(np.float32)
        out += weight * cv2.resize(grid, (side, side), interpolation=cv2.INTER_CUBIC)
    return np.clip(out, 0, 1)


def _blobs(rng: np.random.Generator, side: int) -> np.ndarray:
    out = np.full((side, side, 3), rng.random(3), np.float32)
    for _ in range(rng.integers(3, 12)):
        centre = tuple(int(c) for c in rng.integers(0, side, 2))
        axes = tuple(int(a) for a in rng.integers(side // 16, side // 3, 2))
        angle = float(rng.uniform(0, 180))
        cv2.ellipse(out, centre, axes, angle, 0, 360, rng.random(3).tolist(), -1, cv2.LINE_AA)
    return cv2.GaussianBlur(out, (0, 0), float(rng.uniform(0.5, 4)))


def _stripes(rng: np.random.Generator, side: int) -> np.ndarray:
    y, x = np.mgrid[:side, :side].astype(np.float32)
    angle, period = rng.uniform(0, np.pi), rng.uniform(6, side / 2)
    wave = np.sin(2 * np.pi * (x * np.cos(angle) + y * np.sin(angle)) / period + rng.uniform(0, 2 * np.pi))
    t = np.clip(0.5 + rng.uniform(0.5, 4) * wave / 2, 0, 1)[..., None]  # soft to hard edges
    return (1 - t) * rng.random(3) + t * rng.random(3)


def _clutter(rng: np.random.Generator, side: int) -> np.ndarray:
    """Indoor-like scene: rectangles (furniture, windows) and lines."""
    out = np.full((side, side, 3), rng.random(3), np.float32)
    for _ in range(rng.integers(4, 14)):
        p, q = rng.integers(-side // 4, side + side // 4, (2, 2))
        if rng.random() < 0.7:
            cv2.rectangle(out, tuple(int(v) for v in p), tuple(int(v) for v in q), rng.random(3).tolist(), -1)
        else:
            cv2.line(
                out,
                tuple(int(v) for v in p),
                tuple(int(v) for v in q),
                rng.random(3).tolist(),
                int(rng.integers(1, 6)),
                cv2.LINE_AA,
            )
    return cv2.GaussianBlur(out, (0, 0), float(rng.uniform(0.3, 1.5)))


@njit(cache=True)
def compose_background(
    out: np.ndarray,
    depth: np.ndarray,
    tile: np.ndarray,
    offset: np.ndarray,
    flip: bool,
    mix: np.ndarray,
    bias: np.ndarray,
    gradient: np.ndarray,
    noise: float,
    noise_seed: np.uint64,
) -> None:
    """Where ``depth`` is 0 (no head): tile window @ mix.T + bias + linear gradient + uniform noise."""
    height, width = out.shape[0], out.shape[1]
    scale = np.float32(2.0 / 2097152.0)
    for y in range(height):
        for x in range(width):
            if depth[y, x] > 0:
                continue
            # splitmix64 of (seed, pixel): independent noise per pixel, no serial dependency.
            z = noise_seed + np.uint64(y * width + x) * np.uint64(0x9E3779B97F4A7C15)
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            z ^= z >> np.uint64(31)
            sx = offset[1] + (width - 1 - x if flip else x)
            gx, gy = np.float32(x / width - 0.5), np.float32(y / height - 0.5)
            for c in range(3):
                value = bias[c] + gradient[0, c] * gx + gradient[1, c] * gy
                for k in range(3):
                    value += mix[c, k] * tile[offset[0] + y, sx, k]
                bits = (z >> np.uint64(1 + 21 * c)) & np.uint64(2097151)  # 21 bits per channel
                value += noise * (np.float32(bits) * scale - np.float32(1.0))
                out[y, x, c] = np.uint8(min(max(value * np.float32(255.0) + np.float32(0.5), 0.0), 255.0))


def sample_occluders(config: SynthConfig, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Per image: an occluder or not, its kind (ellipse, rectangle, hand), where, how big, what colour."""
    return {
        "present": rng.random(n) < config.occlusion_probability,
        "kind": rng.integers(0, 3, n),
        "anchor": rng.integers(0, 68, n),  # lies over this landmark
        "offset": rng.normal(0, 0.08, (n, 2)) * config.image_size,
        "size": rng.uniform(*config.occluder_size_range, n) * config.image_size,
        "aspect": rng.uniform(0.3, 1.0, n),
        "angle": rng.uniform(0, 180, n),
        "colour": rng.random((n, 3)),
    }


def draw_occluder(image: np.ndarray, landmarks: np.ndarray, occ: dict[str, Any], skin: np.ndarray) -> None:
    """Draw one occluder (antialiased; 4 fractional bits of sub-pixel position)."""
    centre = landmarks[occ["anchor"]] + occ["offset"]
    size, angle = occ["size"], occ["angle"]
    colour = (np.clip(occ["colour"], 0, 1) * 255).tolist()

    def ellipse(at: np.ndarray, half_axes: tuple[float, float], degrees: float) -> None:
        fixed = lambda p: tuple(int(round(v * 16)) for v in p)  # noqa: E731  4 fractional bits
        cv2.ellipse(image, fixed(at), fixed(half_axes), degrees, 0, 360, colour, -1, cv2.LINE_AA, 4)

    if occ["kind"] == 0:
        ellipse(centre, (size / 2, size * occ["aspect"] / 2), angle)
    elif occ["kind"] == 1:
        corners = cv2.boxPoints((tuple(centre), (size, size * occ["aspect"]), angle))
        cv2.fillConvexPoly(image, np.round(corners * 16).astype(np.int32), colour, cv2.LINE_AA, 4)
    else:  # a hand: palm plus four fingers and a thumb, skin-coloured
        colour = (np.clip(skin * (0.8 + 0.3 * occ["colour"]), 0, 1) * 255).tolist()
        rad = np.deg2rad(angle)
        along, across = np.array([np.cos(rad), np.sin(rad)]), np.array([-np.sin(rad), np.cos(rad)])
        palm = size * 0.3
        ellipse(centre, (palm, palm * 0.85), angle)
        for j, length in enumerate((0.45, 0.5, 0.47, 0.38)):
            base = centre + along * palm * 0.8 + across * palm * (j - 1.5) * 0.5
            ellipse(base + along * size * length * 0.5, (size * length * 0.5, palm * 0.2), angle)
        ellipse(centre - across * palm * 1.1 + along * palm * 0.2, (palm * 0.6, palm * 0.22), angle - 50)
