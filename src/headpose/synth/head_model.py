"""A closed 3D head on MediaPipe's canonical face mesh, with a small linear shape model of our own.

Coordinates are cm in the model frame: x right, y up, z toward the viewer at identity pose (the
frame of :mod:`headpose.angles`). The first 468 vertices ARE the canonical face mesh, so
``landmarks.MESH_INDEX_68`` and the mesh UVs index this model directly and a real photo's
MediaPipe fit can later texture it. After them come a skull shell lofted from the face outline
onto an ellipsoid (so profiles and extreme poses show a head, not a floating mask), two ears and a
neck. The neck belongs to the body: :meth:`HeadModel.articulate` turns the head about the
:data:`NECK_PIVOT` and leaves the neck upright, as in photos of people.

Linear model (our own, deterministic, no data behind it)::

    vertices(s, e) = mean + s @ shape_basis + e @ expression_basis

Every component is a smooth displacement field (global scalings, Gaussian RBF bumps around
landmark regions, or harmonic fields on the mesh for the jaw and eyelids). Shape units: 1.0 is
about one standard deviation of the named adult feature, so identities are drawn as s ~ N(0, I).
Expression units: 1.0 is a clearly visible expression (mouth_open 1.0 drops the chin ~1 cm,
eye_close 1.0 closes the lids halfway, 2.0 fully). The generator draws e ~ N(0, sigma^2 I)
with mouth_open folded to >= 0 and eye_close clipped to [-0.5, 2] (wide open .. shut).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import ClassVar

import cv2
import numpy as np
from scipy.sparse import coo_matrix
from scipy.spatial import cKDTree
from scipy.sparse.linalg import spsolve

from headpose.synth.landmarks import MESH_INDEX_68, canonical_mesh

SHAPE_NAMES = ("face_width", "face_height", "jaw_width", "nose_size", "nose_length",
               "eye_spacing", "brow_ridge", "cheek_fullness", "chin", "skull_length")
EXPRESSION_NAMES = ("mouth_open", "smile", "brow_raise", "eye_close", "jaw_sideways", "pucker")
FACE, SKULL, EAR, NECK = 0, 1, 2, 3  # values of HeadModel.part

# Skull ellipsoid (cm): head breadth ~15.8, vertex ~23 cm above the chin, glabella-opisthocranion
# ~19.5 cm: average adult anthropometry placed against the canonical mesh.
SKULL_CENTER = np.array([0.0, 2.5, -4.0])
SKULL_AXES = np.array([8.0, 11.0, 9.7])
SKULL_POLE = np.array([0.0, 0.3, -1.0])  # where the loft closes: back of the head, a little up
SKULL_RINGS = 9
NECK_PIVOT = np.array([0.0, -2.5, -4.0])  # head-neck joint: the head turns about it
JAW_HINGE = np.array([0.0, 0.5, -3.0])    # temporomandibular axis (along x)

# MediaPipe contour vertex lists (the face-mesh topology's own landmarks).
LIP_UPPER_INNER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
LIP_LOWER_INNER = [95, 88, 178, 87, 14, 317, 402, 318, 324]
LIP_UPPER_OUTER = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291]
LIP_LOWER_OUTER = [146, 91, 181, 84, 17, 314, 405, 321, 375]
EYES = (  # (corner, upper lid, other corner, lower lid) for the subject's right then left eye
    (33, [246, 161, 160, 159, 158, 157, 173], 133, [7, 163, 144, 145, 153, 154, 155]),
    (263, [466, 388, 387, 386, 385, 384, 398], 362, [249, 390, 373, 374, 380, 381, 382]),
)
BROWS = ([70, 63, 105, 66, 107, 55, 65, 52, 53, 46], [300, 293, 334, 296, 336, 285, 295, 282, 283, 276])
NOSTRILS = ([79, 75, 97, 1], [309, 305, 326, 1])

# Feature channels of :func:`feature_texture`; the renderer paints them in per-image colours.
FEATURES = ("brow", "sclera", "iris", "dark", "lips")


@dataclass(frozen=True)
class HeadModel:
    mean: np.ndarray              # (V, 3) float32, cm
    shape_basis: np.ndarray       # (S, V, 3) float32, cm per unit
    expression_basis: np.ndarray  # (E, V, 3) float32, cm per unit
    triangles: np.ndarray         # (T, 3) int32, counter-clockwise seen from outside
    uvs: np.ndarray               # (V, 2) float32; non-face vertices map to the blank texel (0, 0)
    part: np.ndarray              # (V,) int8: FACE, SKULL, EAR or NECK
    hair: np.ndarray              # (V,) float32 hair score: hair grows where score > a hairline level

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
        return self._deform(self.mean[idx].astype(np.float64), self.shape_basis[:, idx].astype(np.float64),
                            self.expression_basis[:, idx].astype(np.float64), shape, expression)

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
        shape_basis=_shape_basis(vertices).astype(np.float32),
        expression_basis=_expression_basis(vertices, triangles, part).astype(np.float32),
        triangles=triangles,
        uvs=uvs,
        part=part,
        hair=_hair_score(vertices, part).astype(np.float32),
    )


def _face_outline(triangles: np.ndarray) -> list[int]:
    """The face mesh's single boundary loop (36 vertices), in edge order."""
    edges = {(int(a), int(b)) for t in triangles for a, b in ((t[0], t[1]), (t[1], t[2]), (t[2], t[0]))}
    following = {a: b for a, b in edges if (b, a) not in edges}
    loop = [min(following)]
    while following[loop[-1]] != loop[0]:
        loop.append(following[loop[-1]])
    return loop


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
    outline = _face_outline(face_t)
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
    back = 1.6 * (1 - np.cos(theta))           # 0 at the attached front edge, 3.2 cm at the helix
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
        verts[-1] -= 0.4 * normal                   # the concha is a hollow
        fan = np.array([(i, (i + 1) % 16, 16) for i in range(16)])
        front = _outward(verts, fan, origin - 3 * normal)
        both = np.concatenate([verts, verts])       # second copy faces the skull side
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


def _gauss(vertices: np.ndarray, center: np.ndarray, sigma: float) -> np.ndarray:
    return np.exp(-np.sum((vertices - center) ** 2, axis=1) / (2 * sigma**2))[:, None]


def _bumps(vertices: np.ndarray, center: np.ndarray, displacement, sigma: float) -> np.ndarray:
    """Gaussian RBF bump at ``center`` (subject's right side, x < 0) and its mirror image."""
    mirror = np.array([-1.0, 1.0, 1.0])
    displacement = np.asarray(displacement, np.float64)
    return (_gauss(vertices, center, sigma) * displacement
            + _gauss(vertices, center * mirror, sigma) * displacement * mirror)


def _shape_basis(v: np.ndarray) -> np.ndarray:
    """(S, V, 3): one smooth field per SHAPE_NAMES entry; 1 unit ~ one adult standard deviation."""
    lm = v[MESH_INDEX_68]
    eye = lm[36:42].mean(0)
    x, y, z = v.T
    zero = np.zeros_like(x)
    back = -np.logaddexp(0.0, -3.0 - z)  # ~ min(z + 3, 0), smooth: only the back of the skull moves
    fields = [
        np.stack([0.04 * x, zero, zero], 1),                                   # face_width: 4%
        np.stack([zero, 0.035 * (y - eye[1]), zero], 1),                       # face_height about the eyes
        _bumps(v, lm[4], (-0.5, 0.0, 0.0), 2.5),                               # jaw_width
        _bumps(v, lm[30], (0.0, 0.0, 0.15), 1.2) + _bumps(v, lm[31], (-0.15, 0.0, 0.0), 0.8),  # nose_size
        _bumps(v, lm[30], (0.0, -0.15, 0.03), 1.3),                            # nose_length (tip down)
        _bumps(v, eye, (-0.25, 0.0, 0.0), 1.5),                                # eye_spacing
        _bumps(v, lm[19], (0.0, 0.05, 0.3), 1.6),                              # brow_ridge
        _bumps(v, v[50], (-0.25, 0.0, 0.3), 2.0),                              # cheek_fullness
        _bumps(v, lm[8], (0.0, -0.12, 0.18), 2.0),                             # chin
        np.stack([zero, zero, 0.05 * back], 1),                                # skull_length: 5%
    ]
    # Bumps on the midline (nose, chin) are counted twice by _bumps' mirror: hence the halved values.
    return np.stack(fields)


def _harmonic(v: np.ndarray, triangles: np.ndarray, active: np.ndarray,
              fixed: dict[int, np.ndarray]) -> np.ndarray:
    """(V, 3) field equal to ``fixed`` at its vertices, harmonic (smooth) over the other active ones.

    Uses the mesh graph Laplacian restricted to ``active`` vertices; inactive vertices stay 0.
    """
    n = len(v)
    edges = triangles[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)
    edges = edges[active[edges[:, 0]] & active[edges[:, 1]]]
    adj = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    adj = ((adj + adj.T) > 0).astype(np.float64).tocsr()
    degree = coo_matrix((np.asarray(adj.sum(1)).ravel(), (np.arange(n), np.arange(n))), shape=(n, n))
    laplacian = (degree - adj).tocsr()
    is_fixed = np.zeros(n, bool)
    is_fixed[list(fixed)] = True
    field = np.zeros((n, 3))
    field[list(fixed)] = np.array(list(fixed.values()))
    free = np.flatnonzero(active & ~is_fixed)
    rhs = adj[free][:, is_fixed] @ field[is_fixed]
    field[free] = spsolve(laplacian[free][:, free].tocsc(), rhs).reshape(len(free), 3)
    return field


def _mirror_pairs(v: np.ndarray) -> np.ndarray:
    """Index of each vertex's mirror image (x -> -x); the whole model is built symmetric."""
    return cKDTree(v).query(v * [-1.0, 1.0, 1.0])[1]


def _symmetrised(field: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Average a (V, 3) displacement field with its mirror image.

    The canonical mesh's triangulation is not exactly symmetric, so harmonic fields on it are
    not either; the expressions should be.
    """
    return 0.5 * (field + field[_mirror_pairs(v)] * [-1.0, 1.0, 1.0])


def _jaw_mask(v: np.ndarray, triangles: np.ndarray, active: np.ndarray) -> np.ndarray:
    """(V, 1) in [0, 1]: 1 on the lower lip and chin, 0 on the upper lip, mid-face and skull."""
    moving = LIP_LOWER_INNER[1:-1] + LIP_LOWER_OUTER[1:-1] + list(MESH_INDEX_68[5:12])
    skull_top_back = np.flatnonzero(active & (v[:, 1] > -1.0) & (v[:, 2] < -4.0))
    still = (LIP_UPPER_INNER + LIP_UPPER_OUTER + list(MESH_INDEX_68[[0, 1, 2, 14, 15, 16]])
             + list(MESH_INDEX_68[17:48]) + list(skull_top_back))
    fixed = {i: np.zeros(3) for i in still} | {i: np.ones(3) for i in moving}
    mask = _harmonic(v, triangles, active, fixed)[:, :1]
    return 0.5 * (mask + mask[_mirror_pairs(v)])  # symmetric, as in _symmetrised


def _expression_basis(v: np.ndarray, triangles: np.ndarray, part: np.ndarray) -> np.ndarray:
    """(E, V, 3): one smooth field per EXPRESSION_NAMES entry."""
    active = (part == FACE) | (part == SKULL)
    lm = v[MESH_INDEX_68]
    mouth = lm[48:68].mean(0)
    jaw = _jaw_mask(v, triangles, active)
    # mouth_open: the jaw turns 0.1 rad about the hinge and its condyles glide forward, so the
    # chin drops ~1 cm (mostly down, a little back) and the lower lip ~1.1 cm.
    c, s = np.cos(0.1), np.sin(0.1)
    rel = v - JAW_HINGE
    turned = np.stack([rel[:, 0], c * rel[:, 1] - s * rel[:, 2], s * rel[:, 1] + c * rel[:, 2]], 1)
    jaw_open = turned - rel + [0.0, -0.3, 0.5]
    centres = np.stack([v[upper + lower].mean(0) for _, upper, _, lower in EYES])
    distance = np.linalg.norm(v[:, None] - centres, axis=2).min(1)
    still = [*np.flatnonzero(active & (distance > 2.5)), *MESH_INDEX_68[17:27]]
    for corner, _, other, lower in EYES:
        still += [corner, other, *lower]
    lids = {int(i): np.zeros(3) for i in still}
    for _, upper, _, lower in EYES:
        lids |= {u: 0.5 * (v[d] - v[u]) for u, d in zip(upper, lower)}  # 1 unit: halfway closed
    pucker = np.stack([-0.2 * (v[:, 0] - mouth[0]), np.zeros(len(v)), np.full(len(v), 0.35)], 1)
    fields = [
        jaw * jaw_open,                                                              # mouth_open
        _bumps(v, lm[48], (-0.3, 0.3, -0.15), 0.9) + _bumps(v, v[50], (0.0, 0.15, 0.05), 1.5),  # smile
        _bumps(v, (lm[17] + lm[21]) / 2, (0.0, 0.35, 0.0), 2.5),                    # brow_raise
        _symmetrised(_harmonic(v, triangles, active, lids), v),                      # eye_close
        jaw * [0.4, 0.0, 0.0],                                                       # jaw_sideways
        _gauss(v, mouth, 1.1) * pucker,                                              # pucker
    ]
    return np.stack(fields)


def _hair_score(v: np.ndarray, part: np.ndarray) -> np.ndarray:
    """Higher toward the crown, the back and the temples; the forehead top scores ~0, the face < 0.

    Thresholding it gives hairlines from a high forehead (~0.35) to a fringe and a low nape (-0.1).
    """
    d = (v - SKULL_CENTER) / SKULL_AXES
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return np.where((part == FACE) | (part == SKULL), d[:, 1] - 0.6 * d[:, 2] + 0.3 * np.abs(d[:, 0]), -10.0)


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
    return np.array([face and touched[y0 : y1 + 1, x0 : x1 + 1].any()
                     for face, (x0, y0), (x1, y1) in zip(on_face, lo, hi)])
