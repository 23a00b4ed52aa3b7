"""A z-buffered triangle rasteriser on the CPU (numba) that textures a mesh with a photo.

Meant for re-rendering a photographed face at a new pose (:mod:`headpose.synth.profiling`):
each vertex carries the place in the source photo it was seen at, and every output pixel samples
the photo bilinearly at the interpolated source coordinate. Screen coordinates are given, not
projected here: orthographic / weak-perspective rendering, for which barycentric interpolation of
the source coordinates is exact (both views are affine images of each triangle).

Conventions, as in :mod:`headpose.synth.render`: pixel centres at integer coordinates (OpenCV),
image y points down, triangles counter-clockwise seen from outside, so front faces have a
negative signed area on screen and the others are culled. Depth is "larger = nearer"; the z-buffer
holds the depth of the nearest surface drawn so far (start from ``-inf``).

Per pixel: ``w * photo(u, v) + (1 - w) * fallback``, with ``w``, ``(u, v)`` and ``fallback``
interpolated from the vertices. ``w`` is how much the photo can be trusted there (0 for surface
the photo never showed), ``fallback`` a plausible colour for such surface.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from headpose.synth.render import _bary, _row_span, _triangle_setup


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
    height, width = image.shape[0], image.shape[1]
    for t in range(triangles.shape[0]):
        i0, i1, i2 = triangles[t, 0], triangles[t, 1], triangles[t, 2]
        visible, xmin, xmax, ymin, ymax, a0, a1, inv_area = _triangle_setup(screen, i0, i1, i2, width, height)
        if not visible:
            continue
        z2, dz0, dz1 = depth[i2], depth[i0] - depth[i2], depth[i1] - depth[i2]
        w0, w1, w2 = weight[i0], weight[i1], weight[i2]
        photo = max(w0, w1, w2) > 0.0
        plain = min(w0, w1, w2) >= 1.0
        for py in range(ymin, ymax + 1):
            c0, c1, lo, hi = _row_span(screen, i0, i1, i2, py, a0, a1, inv_area, xmin, xmax)
            for px in range(int(np.ceil(lo)), int(np.floor(hi)) + 1):
                b0 = a0 * px + c0
                b1 = a1 * px + c1
                z = z2 + b0 * dz0 + b1 * dz1
                if z <= zbuf[py, px]:
                    continue
                zbuf[py, px] = z
                w = 1.0 if plain else (_bary(w0, w1, w2, b0, b1) if photo else 0.0)
                u, v = 0.0, 0.0
                if w > 0.0:
                    u = _bary(source_xy[i0, 0], source_xy[i1, 0], source_xy[i2, 0], b0, b1)
                    v = _bary(source_xy[i0, 1], source_xy[i1, 1], source_xy[i2, 1], b0, b1)
                for c in range(3):
                    value = 0.0
                    if w < 1.0:
                        value = (1.0 - w) * _bary(fallback[i0, c], fallback[i1, c], fallback[i2, c], b0, b1)
                    if w > 0.0:
                        value += w * _sample(source, u, v, c)
                    image[py, px, c] = np.uint8(min(max(value * 255.0 + 0.5, 0.0), 255.0))


@njit(cache=True)
def depth_into(zbuf: np.ndarray, screen: np.ndarray, depth: np.ndarray, triangles: np.ndarray) -> None:
    """Z-buffer only: the nearest front-facing depth per pixel of ``zbuf`` (H, W) (``-inf``: empty).

    Same arguments and culling as :func:`render_textured_into`; used to tell which vertices a
    photo actually shows (a vertex is hidden where something nearer covers its pixel).
    """
    height, width = zbuf.shape[0], zbuf.shape[1]
    for t in range(triangles.shape[0]):
        i0, i1, i2 = triangles[t, 0], triangles[t, 1], triangles[t, 2]
        visible, xmin, xmax, ymin, ymax, a0, a1, inv_area = _triangle_setup(screen, i0, i1, i2, width, height)
        if not visible:
            continue
        z2, dz0, dz1 = depth[i2], depth[i0] - depth[i2], depth[i1] - depth[i2]
        for py in range(ymin, ymax + 1):
            c0, c1, lo, hi = _row_span(screen, i0, i1, i2, py, a0, a1, inv_area, xmin, xmax)
            for px in range(int(np.ceil(lo)), int(np.floor(hi)) + 1):
                z = z2 + (a0 * px + c0) * dz0 + (a1 * px + c1) * dz1
                if z > zbuf[py, px]:
                    zbuf[py, px] = z


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
