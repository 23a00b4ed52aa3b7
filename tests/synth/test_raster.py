from typing import NamedTuple

import numpy as np
from numba import njit

from headpose.synth.raster import bary, rasterise, to_byte

SQUARE = np.array([[-0.5, -0.5], [15.5, -0.5], [15.5, 15.5], [-0.5, 15.5]], np.float32)
# Counter-clockwise seen from the viewer with image y down: (0, 3, 2), (0, 2, 1) -> negative area.
FRONT = np.array([[0, 3, 2], [0, 2, 1]], np.int32)


class _Drawn(NamedTuple):
    count: np.ndarray  # (H, W) times each pixel was shaded
    x: np.ndarray  # (H, W) the vertices' screen x interpolated at the pixel
    screen_x: np.ndarray  # (V,)


@njit(inline="always")
def _corners(drawn, t, i0, i1, i2):
    return drawn.screen_x[i0], drawn.screen_x[i1], drawn.screen_x[i2]


@njit(inline="always")
def _record(drawn, corners, py, px, b0, b1):
    drawn.count[py, px] += 1
    drawn.x[py, px] = bary(corners[0], corners[1], corners[2], b0, b1)


@njit
def _walk(zbuf, screen, depth, triangles, drawn):
    rasterise(zbuf, screen, depth, triangles, _corners, _record, drawn)


def _draw(screen, depth, triangles, size=16):
    zbuf = np.full((size, size), -np.inf, np.float32)
    drawn = _Drawn(np.zeros((size, size), np.int64), np.full((size, size), np.nan), screen[:, 0].copy())
    _walk(zbuf, screen, np.asarray(depth, np.float32), triangles, drawn)
    return zbuf, drawn


def test_a_square_of_two_triangles_shades_every_pixel_once_with_interpolated_attributes():
    zbuf, drawn = _draw(SQUARE, np.full(4, 2.0), FRONT)
    assert (drawn.count == 1).all()  # the shared diagonal too: the second triangle is not nearer
    assert np.allclose(zbuf, 2.0)
    assert np.allclose(drawn.x, np.arange(16)[None, :], atol=1e-4)  # x at pixel centres


def test_back_faces_are_culled_and_only_nearer_surface_is_shaded_again():
    zbuf, drawn = _draw(SQUARE, np.zeros(4), FRONT[:, ::-1])
    assert not drawn.count.any() and np.isneginf(zbuf).all()
    screen = np.concatenate([SQUARE, SQUARE])
    near_then_far = np.concatenate([FRONT + 4, FRONT])
    zbuf, drawn = _draw(screen, [0, 0, 0, 0, 1, 1, 1, 1], near_then_far)
    assert (drawn.count == 1).all() and np.allclose(zbuf, 1.0)
    zbuf, drawn = _draw(screen, [0, 0, 0, 0, 1, 1, 1, 1], near_then_far[::-1])
    assert (drawn.count == 2).all() and np.allclose(zbuf, 1.0)


def test_to_byte_rounds_and_clamps():
    assert [int(to_byte(v)) for v in (-0.2, 0.0, 0.5, 1.0, 1.3)] == [0, 0, 128, 255, 255]
