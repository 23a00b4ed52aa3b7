"""The triangle walk shared by the CPU renderers (numba): which pixels a mesh covers, nearest first.

Conventions of both renderers (:mod:`headpose.synth.render`, :mod:`headpose.synth.textured`):
pixel centres at integer coordinates (OpenCV), image y points down, triangles counter-clockwise
seen from outside, so front faces have a negative signed area on screen and the others are
culled. Depth is "larger = nearer"; the z-buffer holds the depth of the nearest surface drawn so
far. What a drawn pixel looks like is the caller's: :func:`rasterise` hands each one, with its
barycentrics, to the caller's shader.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def bary(v0: float, v1: float, v2: float, b0: float, b1: float) -> float:
    """Interpolate a vertex attribute at barycentrics (b0, b1, 1 - b0 - b1)."""
    return v2 + b0 * (v0 - v2) + b1 * (v1 - v2)


@njit(cache=True)
def to_byte(value: float) -> np.uint8:
    """A colour channel in [0, 1] as a rounded, clamped uint8."""
    return np.uint8(min(max(value * 255.0 + 0.5, 0.0), 255.0))


@njit(inline="always")
def rasterise(zbuf, screen, depth, triangles, begin_triangle, shade_pixel, scene) -> None:
    """Walk the pixels of every front-facing triangle where it is nearer than ``zbuf`` so far.

    ``zbuf`` (H, W) float32, updated in place; per vertex ``screen`` (V, 2) output pixels (x right,
    y down) and ``depth`` (V,) larger = nearer; ``triangles`` (T, 3) int32, counter-clockwise.
    ``begin_triangle(scene, t, i0, i1, i2)`` returns what the shader needs of triangle ``t``
    (computed once, not per pixel); ``shade_pixel(scene, state, py, px, b0, b1)`` draws pixel
    (px, py) at barycentrics (b0, b1, 1 - b0 - b1). Both are ``@njit(inline="always")``, so
    they compile into the walk and cost no call.

    Numba counts references to ``scene``'s arrays each time the shader is entered, and takes
    those counts out of the pixel loop only if the shader reads its arrays as ``scene.field[...]``
    where it uses them (no array bound to a name of its own) and nothing in it can raise;
    otherwise a kernel runs about 4x slower. What is the same for every pixel of a triangle is
    read once, in ``begin_triangle``.
    """
    height, width = zbuf.shape[0], zbuf.shape[1]
    for t in range(triangles.shape[0]):
        i0, i1, i2 = triangles[t, 0], triangles[t, 1], triangles[t, 2]
        visible, xmin, xmax, ymin, ymax, a0, a1, inv_area = _triangle_setup(screen, i0, i1, i2, width, height)
        if not visible:
            continue
        z2, dz0, dz1 = depth[i2], depth[i0] - depth[i2], depth[i1] - depth[i2]
        state = begin_triangle(scene, t, i0, i1, i2)
        for py in range(ymin, ymax + 1):
            c0, c1, lo, hi = _row_span(screen, i0, i1, i2, py, a0, a1, inv_area, xmin, xmax)
            for px in range(int(np.ceil(lo)), int(np.floor(hi)) + 1):
                b0 = a0 * px + c0
                b1 = a1 * px + c1
                z = z2 + b0 * dz0 + b1 * dz1
                if z <= zbuf[py, px]:
                    continue
                zbuf[py, px] = z
                shade_pixel(scene, state, py, px, b0, b1)


@njit(cache=True)
def _span(a: float, c: float, lo: float, hi: float) -> tuple[float, float]:
    """Narrow [lo, hi] to the x where the barycentric a * x + c is >= 0 (with a hair of overlap)."""
    if a > 0:
        lo = max(lo, -c / a - 1e-4)
    elif a < 0:
        hi = min(hi, -c / a + 1e-4)
    elif c < 0:
        hi = lo - 1.0
    return lo, hi


@njit(cache=True)
def _triangle_setup(screen: np.ndarray, i0: int, i1: int, i2: int, width: int, height: int):
    """Pixel bounds and barycentric x-slopes of a front-facing triangle with screen-space corners
    ``screen[i0, i1, i2]``: (visible, xmin, xmax, ymin, ymax, a0, a1, inv_area). ``visible`` is False
    for back faces (culled) and triangles off the image."""
    x0, y0 = screen[i0, 0], screen[i0, 1]
    x1, y1 = screen[i1, 0], screen[i1, 1]
    x2, y2 = screen[i2, 0], screen[i2, 1]
    area = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
    xmin = max(np.ceil(min(x0, x1, x2)), 0.0)
    xmax = min(np.floor(max(x0, x1, x2)), width - 1.0)
    ymin = max(int(np.ceil(min(y0, y1, y2))), 0)
    ymax = min(int(np.floor(max(y0, y1, y2))), height - 1)
    # image y points down: front faces have negative area
    visible = area <= -1e-6 and xmin <= xmax and ymin <= ymax
    inv_area = 1.0 / area if visible else 0.0
    # Barycentrics are affine in the pixel: b0 = a0 * x + c0(y), b1 = a1 * x + c1(y), b2 = 1 - b0 - b1.
    return visible, xmin, xmax, ymin, ymax, -(y2 - y1) * inv_area, -(y0 - y2) * inv_area, inv_area


@njit(cache=True)
def _row_span(
    screen: np.ndarray,
    i0: int,
    i1: int,
    i2: int,
    py: int,
    a0: float,
    a1: float,
    inv_area: float,
    xmin: float,
    xmax: float,
):
    """(c0, c1, lo, hi) of pixel row ``py``: the barycentric offsets and the x range inside the triangle."""
    x0, y0 = screen[i0, 0], screen[i0, 1]
    x1, y1 = screen[i1, 0], screen[i1, 1]
    x2, y2 = screen[i2, 0], screen[i2, 1]
    c0 = ((x2 - x1) * (py - y1) + (y2 - y1) * x1) * inv_area
    c1 = ((x0 - x2) * (py - y2) + (y0 - y2) * x2) * inv_area
    lo, hi = _span(a0, c0, xmin, xmax)
    lo, hi = _span(a1, c1, lo, hi)
    lo, hi = _span(-(a0 + a1), 1.0 - c0 - c1, lo, hi)
    return c0, c1, lo, hi
