"""A closed 3D head on MediaPipe's canonical face mesh, with a small linear shape model of our own.

Coordinates are cm in the model frame: x right, y up, z toward the viewer at identity pose (the
frame of :mod:`headpose.angles`). The first 468 vertices ARE the canonical face mesh, so
``landmarks.MESH_INDEX_68`` and the mesh UVs index this model directly and a real photo's
MediaPipe fit can later texture it. After them come a skull shell lofted from the face outline
onto an ellipsoid (so profiles and extreme poses show a head, not a floating mask), two ears and a
neck. The neck belongs to the body: :meth:`HeadModel.articulate` turns the head about the
:data:`NECK_PIVOT` and leaves the neck upright, as in photos of people.

Linear model (our own, deterministic, no data behind it; the bases and what their units mean are
in :mod:`headpose.synth.head_basis`)::

    vertices(s, e) = mean + s @ shape_basis + e @ expression_basis
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import ClassVar

import numpy as np

from headpose.synth.head_basis import EXPRESSION_NAMES, SHAPE_NAMES, expression_basis, shape_basis
from headpose.synth.landmarks import MESH_INDEX_68, canonical_mesh, face_outline

FACE, SKULL, EAR, NECK = 0, 1, 2, 3  # values of HeadModel.part

# Skull ellipsoid (cm): head breadth ~15.8, vertex ~23 cm above the chin, glabella-opisthocranion
# ~19.5 cm: average adult anthropometry placed against the canonical mesh.
SKULL_CENTER = np.array([0.0, 2.5, -4.0])
SKULL_AXES = np.array([8.0, 11.0, 9.7])
SKULL_POLE = np.array([0.0, 0.3, -1.0])  # where the loft closes: back of the head, a little up
SKULL_RINGS = 9
NECK_PIVOT = np.array([0.0, -2.5, -4.0])  # head-neck joint: the head turns about it


@dataclass(frozen=True)
class HeadModel:
    mean: np.ndarray  # (V, 3) float32, cm
    shape_basis: np.ndarray  # (S, V, 3) float32, cm per unit
    expression_basis: np.ndarray  # (E, V, 3) float32, cm per unit
    triangles: np.ndarray  # (T, 3) int32, counter-clockwise seen from outside
    uvs: np.ndarray  # (V, 2) float32; non-face vertices map to the blank texel (0, 0)
    part: np.ndarray  # (V,) int8: FACE, SKULL, EAR or NECK
    hair: np.ndarray  # (V,) float32 hair score: hair grows where score > a hairline level

    num_shape: ClassVar[int] = len(SHAPE_NAMES)
    num_expression: ClassVar[int] = len(EXPRESSION_NAMES)

    @property
    def num_vertices(self) -> int:
        return len(self.mean)

    def vertices(self, shape=None, expression=None) -> np.ndarray:
        """(..., V, 3) float32 vertices for shape (..., S) and expression (..., E) parameters."""
        out = self._deform(self.mean, self.shape_basis, self.expression_basis, shape, expression)
        return out.astype(np.float32)

    def landmarks_68(self, shape=None, expression=None) -> np.ndarray:
        """(..., 68, 3) float64 3D landmarks (iBUG order) in the model frame."""
        idx = MESH_INDEX_68
        return self._deform(
            self.mean[idx].astype(np.float64),
            self.shape_basis[:, idx].astype(np.float64),
            self.expression_basis[:, idx].astype(np.float64),
            shape,
            expression,
        )

    @staticmethod
    def _deform(mean, shape_basis, expression_basis, shape, expression) -> np.ndarray:
        out = mean
        for params, basis in ((shape, shape_basis), (expression, expression_basis)):
            if params is not None:
                # einsum, not matmul: no BLAS threads, so results are the same bits in any process.
                out = out + np.einsum("...s,svc->...vc", np.asarray(params, basis.dtype), basis)
        return out

    def articulate(self, vertices: np.ndarray, rotation: np.ndarray) -> np.ndarray:
        """Turn the head by ``rotation`` about the neck pivot; the neck stays upright.

        ``vertices`` (..., V, 3) and ``rotation`` (..., 3, 3) broadcast. Returns float32 positions
        relative to the pivot: camera-frame points are this plus the pivot's camera position
        ``t``, and a head point X lands at ``rotation @ X + (t - rotation @ NECK_PIVOT)``.
        """
        local = np.asarray(vertices, np.float32) - NECK_PIVOT.astype(np.float32)
        r = np.asarray(rotation, np.float32)[..., None, :, :]  # (..., 1, 3, 3) against (..., V, 3)
        # Written out, not matmul/einsum: elementwise is fastest here and needs no BLAS threads.
        x, y, z = local[..., 0], local[..., 1], local[..., 2]
        out = np.stack([r[..., i, 0] * x + r[..., i, 1] * y + r[..., i, 2] * z for i in range(3)], -1)
        neck = self.part == NECK
        out[..., neck, :] = local[..., neck, :]
        return out


@cache
def head_model() -> HeadModel:
    """The head model (built once per process, well under a second)."""
    mesh = canonical_mesh()
    face_v = mesh["vertices"].astype(np.float64)
    parts = [(face_v, mesh["triangles"], FACE), _skull(face_v, mesh["triangles"]), *_ears(), _neck()]
    vertices, triangles, part, offset = [], [], [], 0
    for verts, tris, kind in parts:
        # The skull loft reuses the face outline: its indices below 0 refer to face vertices.
        tris = np.where(tris < 0, -tris - 1, tris + offset) if kind == SKULL else tris + offset
        vertices.append(verts)
        triangles.append(tris)
        part.append(np.full(len(verts), kind, np.int8))
        offset += len(verts)
    vertices, part = np.concatenate(vertices), np.concatenate(part)
    triangles = np.concatenate(triangles).astype(np.int32)
    uvs = np.zeros((len(vertices), 2), np.float32)
    uvs[: len(face_v)] = mesh["uvs"]
    return HeadModel(
        mean=vertices.astype(np.float32),
        shape_basis=shape_basis(vertices).astype(np.float32),
        expression_basis=expression_basis(vertices, triangles, np.isin(part, (FACE, SKULL))).astype(
            np.float32
        ),
        triangles=triangles,
        uvs=uvs,
        part=part,
        hair=_hair_score(vertices, part).astype(np.float32),
    )


def _outward(vertices: np.ndarray, triangles: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Reorder triangles so their normals point away from ``inside`` ((3,) or one point per triangle)."""
    a, b, c = (vertices[triangles[:, i]] for i in range(3))
    inward = np.einsum("ij,ij->i", np.cross(b - a, c - a), (a + b + c) / 3 - inside) < 0
    out = triangles.copy()
    out[inward] = out[inward][:, ::-1]
    return out


def _skull(face_v: np.ndarray, face_t: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Loft the face outline backward over the skull ellipsoid and close it at the back pole.

    Each outline vertex travels along the ellipsoid's great circle toward the pole; its distance
    from the ellipsoid eases out over the first rings so the seam with the face stays smooth.
    Returned triangles use ``-i - 1`` for face vertex ``i``.
    """
    outline = face_outline(face_t)
    rel = (face_v[outline] - SKULL_CENTER) / SKULL_AXES
    radius = np.linalg.norm(rel, axis=1, keepdims=True)
    start, pole = rel / radius, SKULL_POLE / np.linalg.norm(SKULL_POLE)
    angle = np.arccos(np.clip(start @ pole, -1, 1))[:, None]
    rings = []
    for k in range(1, SKULL_RINGS + 1):
        t = k / (SKULL_RINGS + 1)
        direction = (np.sin((1 - t) * angle) * start + np.sin(t * angle) * pole) / np.sin(angle)
        rings.append(SKULL_CENTER + SKULL_AXES * direction * (1 + (radius - 1) * (1 - t) ** 3))
    verts = np.concatenate([*rings, (SKULL_CENTER + SKULL_AXES * pole)[None]])
    n = len(outline)
    ids = [[-i - 1 for i in outline]] + [list(range(k * n, (k + 1) * n)) for k in range(SKULL_RINGS)]
    tris = []
    for r0, r1 in zip(ids[:-1], ids[1:]):
        for i in range(n):
            j = (i + 1) % n
            tris += [(r0[i], r0[j], r1[j]), (r0[i], r1[j], r1[i])]
    tris += [(ids[-1][i], ids[-1][(i + 1) % n], len(verts) - 1) for i in range(n)]
    tris = np.array(tris)
    lookup = np.concatenate([verts, face_v[::-1]])  # index -i-1 reads face vertex i
    return verts, _outward(lookup, tris, SKULL_CENTER), SKULL


def _ears() -> list[tuple[np.ndarray, np.ndarray, int]]:
    """Two thin, two-sided ear discs behind the tragus, flaring ~25 degrees from the skull."""
    theta = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    back = 1.6 * (1 - np.cos(theta))  # 0 at the attached front edge, 3.2 cm at the helix
    up = np.where(np.sin(theta) > 0, 3.4, 2.6) * np.sin(theta) + 0.3  # the lobe is smaller than the top
    rim = np.stack([back, up], 1)
    ears = []
    for side in (1.0, -1.0):
        flare = np.deg2rad(25)
        back_dir = np.array([side * np.sin(flare), 0.0, -np.cos(flare)])
        normal = np.array([side * np.cos(flare), 0.0, np.sin(flare)])
        origin = np.array([side * 7.5, 0.6, -3.0])
        points = np.concatenate([rim, [[1.4, 0.2]]])  # rim + concha centre
        verts = origin + points[:, :1] * back_dir + points[:, 1:] * [0.0, 1.0, 0.0]
        verts[-1] -= 0.4 * normal  # the concha is a hollow
        fan = np.array([(i, (i + 1) % 16, 16) for i in range(16)])
        front = _outward(verts, fan, origin - 3 * normal)
        both = np.concatenate([verts, verts])  # second copy faces the skull side
        ears.append((both, np.concatenate([front, front[:, ::-1] + 17]), EAR))
    return ears


def _neck() -> tuple[np.ndarray, np.ndarray, int]:
    """An elliptic tube from inside the skull to 16 cm below the pivot, capped at the bottom."""
    theta = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    axis = NECK_PIVOT + [0.0, 0.0, -0.5]
    ring = np.stack([5.2 * np.cos(theta), np.zeros(16), 5.5 * np.sin(theta)], 1) + axis
    bottom = axis + [0.0, -16.0, 0.0]
    verts = np.concatenate([ring + [0.0, 2.0, 0.0], ring + [0.0, -16.0, 0.0], bottom[None]])
    nxt = (np.arange(16) + 1) % 16
    top = np.arange(16)
    tube = np.concatenate([np.stack([top, nxt, 16 + nxt], 1), np.stack([top, 16 + nxt, 16 + top], 1)])
    cap = np.stack([16 + np.arange(16), 16 + nxt, np.full(16, 32)], 1)
    inside = np.repeat(axis[None], len(tube), 0)
    inside[:, 1] = verts[tube].mean(1)[:, 1]  # tube normals point away from the axis at their height
    above_cap = bottom + [0.0, 1.0, 0.0]
    triangles = np.concatenate([_outward(verts, tube, inside), _outward(verts, cap, above_cap)])
    return verts, triangles, NECK


def _hair_score(v: np.ndarray, part: np.ndarray) -> np.ndarray:
    """Higher toward the crown, the back and the temples; the forehead top scores ~0, the face < 0.

    Thresholding it gives hairlines from a high forehead (~0.35) to a fringe and a low nape (-0.1).
    """
    d = (v - SKULL_CENTER) / SKULL_AXES
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return np.where((part == FACE) | (part == SKULL), d[:, 1] - 0.6 * d[:, 2] + 0.3 * np.abs(d[:, 0]), -10.0)
