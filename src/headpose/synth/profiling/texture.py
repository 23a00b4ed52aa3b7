"""Texturing the fitted head from its photo: where the photo can be trusted, and fill colours elsewhere.

A vertex takes the photo's colour where the photo showed it (facing the camera, not hidden behind
nearer surface, inside the image) and a fill colour sampled from the photo where it did not: skin
from the cheeks and forehead, hair from the visible top of the head, faded by the head model's
hair score and shaded per part.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix

from headpose.synth.head_model import EAR, FACE, NECK, SKULL, head_model
from headpose.synth.render import vertex_normals
from headpose.synth.textured import depth_into, visible_vertices
from headpose.teacher.pose import NUM_MESH_LANDMARKS

# Plain-skin vertices of the face mesh: cheeks (both sides) and forehead.
SKIN_VERTICES = np.array([50, 280, 101, 330, 205, 425, 117, 346, 151, 108, 337, 9])
FOREHEAD_TOP, CHIN = 10, 152
# Fill colour per part, relative to the sampled skin: ears and neck sit a little in shadow.
PART_SHADE = {FACE: 1.0, SKULL: 1.0, EAR: 0.92, NECK: 0.85}
HIDDEN_TOLERANCE_CM = 0.6  # a vertex further than this behind the visible surface is hidden
SILHOUETTE_MARGIN_PX = 1  # photo pixels a trusted vertex keeps from the head's outline in the photo


@dataclass(frozen=True)
class TextureRig:
    """Per-vertex constants of the head model that texturing needs (built once per process)."""

    triangles: np.ndarray  # (T, 3) int32
    smooth: csr_matrix  # (V, V) row-normalised adjacency (with self loops)
    hair: np.ndarray  # (V,) in [0, 1]: fill is hair colour rather than skin
    shade: np.ndarray  # (V,) fill brightness relative to the sampled skin
    hair_probe: np.ndarray  # skull vertices whose photo colour tells the hair colour
    scene_fill: np.ndarray  # (V,) bool: skull, neck and ears, which the "photo" background fills


@cache
def texture_rig() -> TextureRig:
    model = head_model()
    edges = model.triangles[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)
    n = model.num_vertices
    rows = np.concatenate([edges[:, 0], edges[:, 1], np.arange(n)])
    cols = np.concatenate([edges[:, 1], edges[:, 0], np.arange(n)])
    adj = (coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n)).tocsr() > 0).astype(np.float64)
    smooth = csr_matrix(adj.multiply(1.0 / np.asarray(adj.sum(1))))
    score = model.hair.astype(np.float64)
    hair = np.where((model.part == SKULL) | (model.part == FACE), np.clip((score - 0.05) / 0.2, 0, 1), 0.0)
    hair = hair * hair * (3 - 2 * hair)  # smoothstep
    shade = np.array([PART_SHADE[int(p)] for p in model.part])
    hair_probe = np.flatnonzero((model.part == SKULL) & (score > 0.2))
    return TextureRig(
        model.triangles, smooth, hair, shade, hair_probe, np.isin(model.part, (SKULL, NECK, EAR))
    )


def texture_weight(
    source: np.ndarray,
    source_xy: np.ndarray,
    source_depth: np.ndarray,
    head: np.ndarray,
    scale: float,
    fade: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(V,) float32 in [0, 1]: facing the camera (faded toward grazing), not hidden, inside the photo;
    eroded by a ring of smoothing so the photo fades into the fill instead of ending at an edge.
    Also the (H, W) bool silhouette of the head in the photo."""
    rig = texture_rig()
    normals = vertex_normals(head, rig.triangles)
    facing = np.clip(normals[:, 2] / fade, 0.0, 1.0)
    zbuf = np.full(source.shape[:2], -np.inf, np.float32)
    depth_into(zbuf, source_xy, source_depth, rig.triangles)
    shown = visible_vertices(zbuf, source_xy, source_depth, HIDDEN_TOLERANCE_CM * scale, SILHOUETTE_MARGIN_PX)
    weight = facing * shown
    for _ in range(2):
        weight = np.minimum(weight, rig.smooth @ weight)
    return weight.astype(np.float32), zbuf > -np.inf


def photo_colours(source: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """(K, 3) float colours in [0, 1] of the photo's nearest pixels to points (K, 2)."""
    h, w = source.shape[:2]
    col = np.clip(np.rint(xy[:, 0]), 0, w - 1).astype(np.int64)
    row = np.clip(np.rint(xy[:, 1]), 0, h - 1).astype(np.int64)
    return source[row, col].astype(np.float64) / 255.0


def fill_colours(source: np.ndarray, source_xy: np.ndarray, weight: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """(V, 3) float32 fill colours: the photo's skin (hair toward the crown), shaded per part."""
    rig = texture_rig()
    trusted = weight > 0.5
    skin_points = SKIN_VERTICES[trusted[SKIN_VERTICES]]
    if len(skin_points) == 0:
        skin_points = np.flatnonzero(trusted[:NUM_MESH_LANDMARKS])
    skin = (
        np.median(photo_colours(source, source_xy[skin_points]), 0)
        if len(skin_points)
        else np.median(photo_colours(source, source_xy[SKIN_VERTICES]), 0)
    )
    hair_points = rig.hair_probe[trusted[rig.hair_probe]]
    if len(hair_points) >= 3:
        hair = np.median(photo_colours(source, source_xy[hair_points]), 0)
    else:  # the top of the head is out of the photo or turned away: just above the forehead, else dark
        above = lm[FOREHEAD_TOP, :2] + 0.15 * (lm[FOREHEAD_TOP, :2] - lm[CHIN, :2])
        h, w = source.shape[:2]
        inside = 0 <= above[0] <= w - 1 and 0 <= above[1] <= h - 1
        patch = above + np.stack(np.meshgrid([-2, 0, 2], [-2, 0, 2]), -1).reshape(-1, 2)
        hair = np.median(photo_colours(source, patch), 0) if inside else 0.45 * skin
    fill = (skin[None] * (1.0 - rig.hair[:, None]) + hair[None] * rig.hair[:, None]) * rig.shade[:, None]
    return np.clip(fill, 0.0, 1.0).astype(np.float32)
