"""The linear part of the head model: shape and expression bases (our own, no data behind them).

Every component is a smooth displacement field (global scalings, Gaussian RBF bumps around
landmark regions, or harmonic fields on the mesh for the jaw and eyelids). Shape units: 1.0 is
about one standard deviation of the named adult feature, so identities are drawn as s ~ N(0, I).
Expression units: 1.0 is a clearly visible expression (mouth_open 1.0 drops the chin ~1 cm,
eye_close 1.0 closes the lids halfway, 2.0 fully). The generator draws e ~ N(0, sigma^2 I)
with mouth_open folded to >= 0 and eye_close clipped to [-0.5, 2] (wide open .. shut).
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.linalg import spsolve
from scipy.spatial import cKDTree

from headpose.synth.landmarks import (
    EYES,
    LIP_LOWER_INNER,
    LIP_LOWER_OUTER,
    LIP_UPPER_INNER,
    LIP_UPPER_OUTER,
    MESH_INDEX_68,
)

SHAPE_NAMES = (
    "face_width",
    "face_height",
    "jaw_width",
    "nose_size",
    "nose_length",
    "eye_spacing",
    "brow_ridge",
    "cheek_fullness",
    "chin",
    "skull_length",
)
EXPRESSION_NAMES = ("mouth_open", "smile", "brow_raise", "eye_close", "jaw_sideways", "pucker")
JAW_HINGE = np.array([0.0, 0.5, -3.0])  # temporomandibular axis (along x)


def _gauss(vertices: np.ndarray, center: np.ndarray, sigma: float) -> np.ndarray:
    return np.exp(-np.sum((vertices - center) ** 2, axis=1) / (2 * sigma**2))[:, None]


def _bumps(vertices: np.ndarray, center: np.ndarray, displacement, sigma: float) -> np.ndarray:
    """Gaussian RBF bump at ``center`` (subject's right side, x < 0) and its mirror image."""
    mirror = np.array([-1.0, 1.0, 1.0])
    displacement = np.asarray(displacement, np.float64)
    return (
        _gauss(vertices, center, sigma) * displacement
        + _gauss(vertices, center * mirror, sigma) * displacement * mirror
    )


def shape_basis(v: np.ndarray) -> np.ndarray:
    """(S, V, 3): one smooth field per SHAPE_NAMES entry; 1 unit ~ one adult standard deviation."""
    lm = v[MESH_INDEX_68]
    eye = lm[36:42].mean(0)
    x, y, z = v.T
    zero = np.zeros_like(x)
    back = -np.logaddexp(0.0, -3.0 - z)  # ~ min(z + 3, 0), smooth: only the back of the skull moves
    fields = [
        np.stack([0.04 * x, zero, zero], 1),  # face_width: 4%
        np.stack([zero, 0.035 * (y - eye[1]), zero], 1),  # face_height about the eyes
        _bumps(v, lm[4], (-0.5, 0.0, 0.0), 2.5),  # jaw_width
        _bumps(v, lm[30], (0.0, 0.0, 0.15), 1.2) + _bumps(v, lm[31], (-0.15, 0.0, 0.0), 0.8),  # nose_size
        _bumps(v, lm[30], (0.0, -0.15, 0.03), 1.3),  # nose_length (tip down)
        _bumps(v, eye, (-0.25, 0.0, 0.0), 1.5),  # eye_spacing
        _bumps(v, lm[19], (0.0, 0.05, 0.3), 1.6),  # brow_ridge
        _bumps(v, v[50], (-0.25, 0.0, 0.3), 2.0),  # cheek_fullness
        _bumps(v, lm[8], (0.0, -0.12, 0.18), 2.0),  # chin
        np.stack([zero, zero, 0.05 * back], 1),  # skull_length: 5%
    ]
    # Bumps on the midline (nose, chin) are counted twice by _bumps' mirror: hence the halved values.
    return np.stack(fields)


def _harmonic(
    v: np.ndarray, triangles: np.ndarray, active: np.ndarray, fixed: dict[int, np.ndarray]
) -> np.ndarray:
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
    still = (
        LIP_UPPER_INNER
        + LIP_UPPER_OUTER
        + list(MESH_INDEX_68[[0, 1, 2, 14, 15, 16]])
        + list(MESH_INDEX_68[17:48])
        + list(skull_top_back)
    )
    fixed = {i: np.zeros(3) for i in still} | {i: np.ones(3) for i in moving}
    mask = _harmonic(v, triangles, active, fixed)[:, :1]
    return 0.5 * (mask + mask[_mirror_pairs(v)])  # symmetric, as in _symmetrised


def expression_basis(v: np.ndarray, triangles: np.ndarray, active: np.ndarray) -> np.ndarray:
    """(E, V, 3): one smooth field per EXPRESSION_NAMES entry, moving only ``active`` vertices
    (face and skull: ears and neck stay)."""
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
        jaw * jaw_open,  # mouth_open
        _bumps(v, lm[48], (-0.3, 0.3, -0.15), 0.9) + _bumps(v, v[50], (0.0, 0.15, 0.05), 1.5),  # smile
        _bumps(v, (lm[17] + lm[21]) / 2, (0.0, 0.35, 0.0), 2.5),  # brow_raise
        _symmetrised(_harmonic(v, triangles, active, lids), v),  # eye_close
        jaw * [0.4, 0.0, 0.0],  # jaw_sideways
        _gauss(v, mouth, 1.1) * pucker,  # pucker
    ]
    return np.stack(fields)
