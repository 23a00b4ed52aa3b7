"""A z-buffered triangle rasteriser on the CPU (numba): Gouraud colours, Lambert + ambient light.

Camera frame as in :mod:`headpose.angles`: x right, y up, z toward the viewer; the camera sits at
the origin looking down -z. A point at depth ``d = -z`` projects to pixel
``(cx + f * x / d, cy - f * y / d)`` with pixel centres at integer coordinates (OpenCV's
convention), i.e. the OpenCV camera matrix ``[[f, 0, cx], [0, f, cy], [0, 0, 1]]`` applied to
``(x, -y, -z)``. Triangles are counter-clockwise seen from outside; the others are culled.

Per pixel: ``(albedo * (1 - sum(w)) + sum(w_k * palette_k)) * shade + specular``, where ``w`` are
the feature masks (:func:`headpose.synth.features.feature_texture`) looked up by UV, then hair
blended in where the interpolated hair score passes the hairline; ``shade``/``specular`` come
from per-vertex lighting interpolated across the triangle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from headpose.synth.raster import bary, rasterise, to_byte


@dataclass(frozen=True)
class Light:
    """A directional light plus ambient; fields may be arrays with a leading batch shape."""

    direction: tuple[float, float, float] | np.ndarray  # toward the light, camera frame (normalised here)
    intensity: float | np.ndarray = 0.7  # directional (Lambert) strength
    ambient: float | np.ndarray = 0.35
    specular: float | np.ndarray = 0.0  # Blinn-Phong highlight strength (exponent 16)
    colour: tuple[float, float, float] | np.ndarray = (1.0, 1.0, 1.0)

    def packed(self) -> np.ndarray:
        """(..., 9) float32 as render_into reads it: direction, intensity, ambient, specular, colour."""
        d = np.asarray(self.direction, np.float64)
        d = d / np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-12)
        scalars = [np.broadcast_to(x, d.shape[:-1]) for x in (self.intensity, self.ambient, self.specular)]
        colour = np.broadcast_to(self.colour, d.shape)
        return np.concatenate([d, np.stack(scalars, -1), colour], -1).astype(np.float32)


@dataclass(frozen=True)
class Hair:
    colour: tuple[float, float, float] | np.ndarray
    hairline: float = np.inf  # hair where the per-vertex hair score exceeds this (inf: bald)
    softness: float = 0.05  # score range over which skin fades into hair

    def packed(self) -> np.ndarray:
        """(5,) float32 as render_into reads it: colour, hairline, softness."""
        return np.array([*self.colour, self.hairline, max(self.softness, 1e-6)], np.float32)


def render(
    background: np.ndarray,
    vertices: np.ndarray,
    triangles: np.ndarray,
    albedo: np.ndarray,
    hair_score: np.ndarray,
    hair: Hair,
    uvs: np.ndarray,
    textured: np.ndarray,
    texture: np.ndarray,
    palette: np.ndarray,
    camera: tuple[float, float, float],
    light: Light,
) -> tuple[np.ndarray, np.ndarray]:
    """Render a mesh over a copy of ``background`` (uint8 (H, W, 3)).

    ``vertices`` (V, 3) camera frame, all in front of the camera; ``albedo`` (V, 3) in [0, 1];
    ``hair_score`` (V,) blended per pixel into ``hair``; triangles flagged in ``textured`` (T,)
    look ``uvs`` (V, 2) up in ``texture`` (S, S, K), masks painted with ``palette`` (K, 3);
    ``camera`` = (f, cx, cy) in pixels.
    Returns the image and its (H, W) float32 z-buffer of 1 / depth (0 where nothing was drawn).
    """
    image = np.array(background, np.uint8, copy=True, order="C")
    depth = np.zeros(image.shape[:2], np.float32)
    f32 = lambda a: np.ascontiguousarray(a, np.float32)  # noqa: E731
    triangles, textured = np.ascontiguousarray(triangles, np.int32), np.ascontiguousarray(textured, np.bool_)
    render_into(
        image,
        depth,
        f32(vertices),
        triangles,
        f32(albedo),
        f32(hair_score),
        hair.packed(),
        f32(uvs),
        textured,
        f32(texture),
        f32(palette),
        f32(camera),
        light.packed(),
    )
    return image, depth


@njit(cache=True)
def vertex_normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Area-weighted vertex normals (V, 3) of a counter-clockwise mesh (scalar code: no temporaries)."""
    normals = np.zeros_like(vertices)
    for t in range(triangles.shape[0]):
        a, b, c = triangles[t, 0], triangles[t, 1], triangles[t, 2]
        ax, ay, az = vertices[a, 0], vertices[a, 1], vertices[a, 2]
        ux, uy, uz = vertices[b, 0] - ax, vertices[b, 1] - ay, vertices[b, 2] - az
        vx, vy, vz = vertices[c, 0] - ax, vertices[c, 1] - ay, vertices[c, 2] - az
        nx, ny, nz = uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx
        for k in (a, b, c):
            normals[k, 0] += nx
            normals[k, 1] += ny
            normals[k, 2] += nz
    for v in range(vertices.shape[0]):
        norm = np.sqrt(normals[v, 0] ** 2 + normals[v, 1] ** 2 + normals[v, 2] ** 2)
        if norm > 0:
            for k in range(3):
                normals[v, k] /= norm
    return normals


@njit(cache=True)
def _lighting(
    vertices: np.ndarray, normals: np.ndarray, albedo: np.ndarray, light: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per vertex: RGB shade (ambient + Lambert), Blinn-Phong specular, and the lit colour."""
    n_vert = vertices.shape[0]
    shade = np.empty((n_vert, 3), np.float32)
    spec = np.zeros(n_vert, np.float32)
    lit = np.empty((n_vert, 3), np.float32)
    lx, ly, lz = light[0], light[1], light[2]
    intensity, ambient, specular = light[3], light[4], light[5]
    for v in range(n_vert):
        nx, ny, nz = normals[v, 0], normals[v, 1], normals[v, 2]
        diffuse = max(nx * lx + ny * ly + nz * lz, 0.0)
        if specular > 0 and diffuse > 0:
            # Half vector between the light and the direction to the camera (at the origin).
            px, py, pz = vertices[v, 0], vertices[v, 1], vertices[v, 2]
            dist = np.sqrt(px * px + py * py + pz * pz)
            hx, hy, hz = lx - px / dist, ly - py / dist, lz - pz / dist
            cos_h = max((nx * hx + ny * hy + nz * hz) / np.sqrt(hx * hx + hy * hy + hz * hz), 0.0)
            spec[v] = specular * cos_h**16
        for c in range(3):
            shade[v, c] = ambient + intensity * diffuse * light[6 + c]
            lit[v, c] = albedo[v, c] * shade[v, c] + spec[v]
    return shade, spec, lit


@njit(cache=True)
def render_into(
    image: np.ndarray,
    depth: np.ndarray,
    vertices: np.ndarray,
    triangles: np.ndarray,
    albedo: np.ndarray,
    hair_score: np.ndarray,
    hair: np.ndarray,
    uvs: np.ndarray,
    textured: np.ndarray,
    texture: np.ndarray,
    palette: np.ndarray,
    camera: np.ndarray,
    light: np.ndarray,
) -> None:
    """Rasterise into ``image`` (uint8 (H, W, 3)) in place; see :func:`render` for the arguments.

    ``depth`` (H, W) float32 is the z-buffer, holding 1 / depth (0: empty); pass zeros, or a
    previous render's buffer to add to that scene.
    """
    n_vert = vertices.shape[0]
    f, cx, cy = camera[0], camera[1], camera[2]
    shade, spec, lit = _lighting(vertices, vertex_normals(vertices, triangles), albedo, light)
    screen = np.empty((n_vert, 2), np.float32)
    inv_depth = np.empty(n_vert, np.float32)
    for v in range(n_vert):
        inv_depth[v] = 1.0 / -vertices[v, 2]
        screen[v, 0] = cx + f * vertices[v, 0] * inv_depth[v]
        screen[v, 1] = cy - f * vertices[v, 1] * inv_depth[v]
    colour = np.empty(3, np.float32)  # the pixel being shaded
    shading = _Shading(
        image, albedo, hair_score, hair, uvs, textured, texture, palette, shade, spec, lit, colour
    )
    rasterise(depth, screen, inv_depth, triangles, _begin_triangle, _shade_pixel, shading)


class _Shading(NamedTuple):
    """What a pixel's colour is made of (see :func:`render`): ``shade``/``spec``/``lit`` are the
    per-vertex lighting, ``colour`` scratch for the pixel being shaded."""

    image: np.ndarray
    albedo: np.ndarray
    hair_score: np.ndarray
    hair: np.ndarray
    uvs: np.ndarray
    textured: np.ndarray
    texture: np.ndarray
    palette: np.ndarray
    shade: np.ndarray
    spec: np.ndarray
    lit: np.ndarray
    colour: np.ndarray


@njit(inline="always")
def _begin_triangle(shading: _Shading, t: int, i0: int, i1: int, i2: int):
    """Triangle ``t``'s corners and whether it needs the feature texture or the hair blend."""
    hair_score = shading.hair_score
    haired = max(hair_score[i0], hair_score[i1], hair_score[i2]) > shading.hair[3]
    return i0, i1, i2, shading.textured[t], haired


@njit(inline="always")
def _shade_pixel(shading: _Shading, triangle, py: int, px: int, b0: float, b1: float) -> None:
    """Colour pixel (px, py); ``shading``'s arrays are read in place (see :func:`rasterise`)."""
    i0, i1, i2, featured, haired = triangle
    if not (featured or haired):  # fast path: the lit colour interpolates directly
        for c in range(3):
            shading.image[py, px, c] = to_byte(
                bary(shading.lit[i0, c], shading.lit[i1, c], shading.lit[i2, c], b0, b1)
            )
        return
    for c in range(3):
        shading.colour[c] = bary(shading.albedo[i0, c], shading.albedo[i1, c], shading.albedo[i2, c], b0, b1)
    if featured:
        tex_size, n_feat = shading.texture.shape[0], shading.texture.shape[2]
        tu = bary(shading.uvs[i0, 0], shading.uvs[i1, 0], shading.uvs[i2, 0], b0, b1)
        tv = bary(shading.uvs[i0, 1], shading.uvs[i1, 1], shading.uvs[i2, 1], b0, b1)
        row = min(max(int(tv * tex_size), 0), tex_size - 1)
        col = min(max(int(tu * tex_size), 0), tex_size - 1)
        total = 0.0
        for k in range(n_feat):
            total += shading.texture[row, col, k]
        if total > 0:
            for c in range(3):
                mixed = shading.colour[c] * (1.0 - total)
                for k in range(n_feat):
                    mixed += shading.texture[row, col, k] * shading.palette[k, c]
                shading.colour[c] = mixed
    if haired:
        # Blend per pixel, not per vertex: the hairline follows a smooth iso-line.
        score = bary(shading.hair_score[i0], shading.hair_score[i1], shading.hair_score[i2], b0, b1)
        w = _hair_weight(score, shading.hair[3], shading.hair[4])
        for c in range(3):
            shading.colour[c] += w * (shading.hair[c] - shading.colour[c])
    highlight = bary(shading.spec[i0], shading.spec[i1], shading.spec[i2], b0, b1)
    for c in range(3):
        lit_c = bary(shading.shade[i0, c], shading.shade[i1, c], shading.shade[i2, c], b0, b1)
        shading.image[py, px, c] = to_byte(shading.colour[c] * lit_c + highlight)


# numpy's error model: softness is > 0 (Hair.packed), and a division that may raise would keep
# numba's reference counting of the shader's arrays inside the pixel loop (4x slower).
@njit(cache=True, error_model="numpy")
def _hair_weight(score: float, hairline: float, softness: float) -> float:
    """How much hair covers a pixel: 0 below the hairline, 1 a ``softness`` above it."""
    return min(max((score - hairline) / softness, 0.0), 1.0)
