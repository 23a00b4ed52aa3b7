"""A z-buffered triangle rasteriser on the CPU (numba) that textures a mesh with a photo.

Meant for re-rendering a photographed face at a new pose (:mod:`headpose.synth.profiling`):
each vertex carries the place in the source photo it was seen at, and every output pixel samples
the photo bilinearly at the interpolated source coordinate. Screen coordinates are given, not
projected here: orthographic / weak-perspective rendering, for which barycentric interpolation of
the source coordinates is exact (both views are affine images of each triangle).

Pixel and winding conventions, culling and the z-buffer are :mod:`headpose.synth.raster`'s; depth
is "larger = nearer", so the z-buffer starts from ``-inf``.

Per pixel: ``w * photo(u, v) + (1 - w) * fallback``, with ``w``, ``(u, v)`` and ``fallback``
interpolated from the vertices. ``w`` is how much the photo can be trusted there (0 for surface
the photo never showed), ``fallback`` a plausible colour for such surface.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from headpose.synth.raster import bary, rasterise, to_byte


def render_textured(
    background: np.ndarray,
    screen: np.ndarray,
    depth: np.ndarray,
    triangles: np.ndarray,
    source_xy: np.ndarray,
    source: np.ndarray,
    fallback: np.ndarray,
    weight: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Render over a copy of ``background`` (uint8 (H, W, 3)); see :func:`render_textured_into`.

    Returns the image and its (H, W) float32 z-buffer (``-inf`` where nothing was drawn).
    """
    image = np.array(background, np.uint8, copy=True, order="C")
    zbuf = np.full(image.shape[:2], -np.inf, np.float32)
    f32 = lambda a: np.ascontiguousarray(a, np.float32)  # noqa: E731
    render_textured_into(
        image,
        zbuf,
        f32(screen),
        f32(depth),
        np.ascontiguousarray(triangles, np.int32),
        f32(source_xy),
        np.ascontiguousarray(source, np.uint8),
        f32(fallback),
        f32(weight),
    )
    return image, zbuf


@njit(cache=True)
def _sample(source: np.ndarray, u: float, v: float, c: int) -> float:
    """Bilinear sample of channel ``c`` at pixel coordinates (u, v), clamped to the border; in [0, 1]."""
    height, width = source.shape[0], source.shape[1]
    u = min(max(u, 0.0), width - 1.0)
    v = min(max(v, 0.0), height - 1.0)
    x0 = min(int(u), width - 2) if width > 1 else 0
    y0 = min(int(v), height - 2) if height > 1 else 0
    x1, y1 = min(x0 + 1, width - 1), min(y0 + 1, height - 1)
    fx, fy = u - x0, v - y0
    p00, p01 = np.float32(source[y0, x0, c]), np.float32(source[y0, x1, c])
    p10, p11 = np.float32(source[y1, x0, c]), np.float32(source[y1, x1, c])
    top = p00 + fx * (p01 - p00)
    bottom = p10 + fx * (p11 - p10)
    return (top + fy * (bottom - top)) * (1.0 / 255.0)


@njit(cache=True)
def render_textured_into(
    image: np.ndarray,
    zbuf: np.ndarray,
    screen: np.ndarray,
    depth: np.ndarray,
    triangles: np.ndarray,
    source_xy: np.ndarray,
    source: np.ndarray,
    fallback: np.ndarray,
    weight: np.ndarray,
) -> None:
    """Rasterise a photo-textured mesh into ``image`` (uint8 (H, W, 3)) in place.

    ``zbuf`` (H, W) float32: depth of the nearest surface so far (``-inf``: empty), updated in place.
    Per vertex (V rows, float32): ``screen`` (V, 2) output pixels (x right, y down); ``depth`` (V,)
    larger = nearer; ``source_xy`` (V, 2) where the vertex lies in ``source`` (uint8 (h, w, 3)), in
    its pixels; ``fallback`` (V, 3) colour in [0, 1] for surface the photo did not show;
    ``weight`` (V,) in [0, 1], photo vs fallback. ``triangles`` (T, 3) int32, counter-clockwise.
    """
    photo = _Photo(image, source_xy, source, fallback, weight)
    rasterise(zbuf, screen, depth, triangles, _begin_triangle, _shade_pixel, photo)


class _Photo(NamedTuple):
    """What a pixel of :func:`render_textured_into` is drawn from (its arguments of those names)."""

    image: np.ndarray
    source_xy: np.ndarray
    source: np.ndarray
    fallback: np.ndarray
    weight: np.ndarray


@njit(inline="always")
def _begin_triangle(photo: _Photo, t: int, i0: int, i1: int, i2: int):
    """What the shader interpolates over triangle ``t``, read once: its corners' photo weights,
    photo coordinates and fallback colours, and whether the photo shows on it at all, or alone."""
    weight, xy, fallback = photo.weight, photo.source_xy, photo.fallback
    w = (weight[i0], weight[i1], weight[i2])
    u = (xy[i0, 0], xy[i1, 0], xy[i2, 0])
    v = (xy[i0, 1], xy[i1, 1], xy[i2, 1])
    rgb = (
        (fallback[i0, 0], fallback[i1, 0], fallback[i2, 0]),
        (fallback[i0, 1], fallback[i1, 1], fallback[i2, 1]),
        (fallback[i0, 2], fallback[i1, 2], fallback[i2, 2]),
    )
    return w, u, v, rgb, max(w) > 0.0, min(w) >= 1.0


@njit(inline="always")
def _shade_pixel(photo: _Photo, triangle, py: int, px: int, b0: float, b1: float) -> None:
    """Colour pixel (px, py); ``photo``'s arrays are read in place (see :func:`rasterise`)."""
    w_corners, u_corners, v_corners, fallback, shown, alone = triangle
    w = 1.0 if alone else (_interpolate(w_corners, b0, b1) if shown else 0.0)
    u, v = 0.0, 0.0
    if w > 0.0:
        u, v = _interpolate(u_corners, b0, b1), _interpolate(v_corners, b0, b1)
    for c in range(3):
        value = 0.0
        if w < 1.0:
            value = (1.0 - w) * _interpolate(fallback[c], b0, b1)
        if w > 0.0:
            value += w * _sample(photo.source, u, v, c)
        photo.image[py, px, c] = to_byte(value)


@njit(inline="always")
def _interpolate(corners, b0: float, b1: float) -> float:
    """A triangle's three corner values interpolated at barycentrics (b0, b1, 1 - b0 - b1)."""
    return bary(corners[0], corners[1], corners[2], b0, b1)


@njit(cache=True)
def depth_into(zbuf: np.ndarray, screen: np.ndarray, depth: np.ndarray, triangles: np.ndarray) -> None:
    """Z-buffer only: the nearest front-facing depth per pixel of ``zbuf`` (H, W) (``-inf``: empty).

    Same arguments and culling as :func:`render_textured_into`; used to tell which vertices a
    photo actually shows (a vertex is hidden where something nearer covers its pixel).
    """
    rasterise(zbuf, screen, depth, triangles, _no_triangle_state, _depth_only, None)


@njit(inline="always")
def _no_triangle_state(scene, t: int, i0: int, i1: int, i2: int) -> None:
    return None


@njit(inline="always")
def _depth_only(scene, triangle, py: int, px: int, b0: float, b1: float) -> None:
    """Draws nothing: the walk has already put the pixel's depth in the z-buffer."""


@njit(cache=True)
def visible_vertices(
    zbuf: np.ndarray, screen: np.ndarray, depth: np.ndarray, tolerance: float, margin: int
) -> np.ndarray:
    """(V,) bool: vertices inside the image, not behind the surface in ``zbuf`` by more than
    ``tolerance`` (depth units) at their nearest pixel, and at least ``margin`` pixels inside the
    drawn area (so bilinear samples near a silhouette do not pick up what lies beyond it)."""
    height, width = zbuf.shape[0], zbuf.shape[1]
    out = np.zeros(screen.shape[0], np.bool_)
    for v in range(screen.shape[0]):
        x, y = screen[v, 0], screen[v, 1]
        if not (-0.5 <= x < width - 0.5 and -0.5 <= y < height - 0.5):
            continue
        col, row = int(x + 0.5), int(y + 0.5)
        if depth[v] < zbuf[row, col] - tolerance:
            continue
        covered = True
        for r in range(max(row - margin, 0), min(row + margin, height - 1) + 1):
            for c in range(max(col - margin, 0), min(col + margin, width - 1) + 1):
                if zbuf[r, c] == -np.inf:
                    covered = False
        out[v] = covered
    return out
