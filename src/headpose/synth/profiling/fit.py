"""The photographed head in 3D: our head model fitted to the teacher's landmarks, then turned.

Coordinates are the photo's camera frame in pixel units: x right, y up, z toward the viewer, so a
vertex's photo pixel is ``(x, -y)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy.spatial import cKDTree

from headpose.angles import euler_to_matrix
from headpose.synth.head_model import EAR, NECK, NECK_PIVOT, SKULL, SKULL_RINGS, head_model
from headpose.synth.landmarks import canonical_mesh, face_outline
from headpose.teacher.pose import NUM_MESH_LANDMARKS, camera_points, fit_pose

# Iris landmarks after the 468 mesh points: two blocks of five (centre + four), one per eye.
IRIS_BLOCKS = (np.arange(468, 473), np.arange(473, 478))


@dataclass(frozen=True)
class _Rig:
    """Per-vertex constants of the head model that fitting needs (built once per process)."""

    mean: np.ndarray  # (V, 3) float64 head-model vertices, cm
    neck: np.ndarray  # (V,) bool
    anchor: np.ndarray  # (V - 468,) face vertex whose fit residual a non-face vertex follows
    anchor_weight: np.ndarray  # (V - 468,) how much of it
    mirror: np.ndarray  # (468,) index of each face vertex's mirror image


@cache
def _rig() -> _Rig:
    model = head_model()
    mean = model.mean.astype(np.float64)
    n_face = NUM_MESH_LANDMARKS
    outline = np.array(face_outline(canonical_mesh()["triangles"]))
    anchor = np.zeros(len(mean) - n_face, np.int64)
    weight = np.zeros(len(mean) - n_face)
    skull = np.flatnonzero(model.part == SKULL)
    rings = (skull[:-1] - skull[0]).reshape(SKULL_RINGS, len(outline))  # the last skull vertex is the pole
    for k in range(SKULL_RINGS):
        anchor[rings[k] + skull[0] - n_face] = outline
        weight[rings[k] + skull[0] - n_face] = (1.0 - (k + 1) / (SKULL_RINGS + 1)) ** 2
    ear = np.flatnonzero(model.part == EAR)
    for half in (ear[: len(ear) // 2], ear[len(ear) // 2 :]):  # each ear follows its nearest outline vertex
        nearest = outline[np.argmin(np.linalg.norm(mean[outline] - mean[half].mean(0), axis=1))]
        anchor[half - n_face], weight[half - n_face] = nearest, 1.0
    face = mean[:n_face]
    mirror = cKDTree(face).query(face * [-1.0, 1.0, 1.0])[1]
    return _Rig(mean, model.part == NECK, anchor, weight, mirror)


@dataclass(frozen=True)
class FittedHead:
    vertices: np.ndarray  # (V, 3) float64 head-model vertices in the photo's camera frame, pixels
    pivot: np.ndarray  # (3,) the neck pivot there
    scale: float  # pixels per cm of the fit


def fit_head(landmarks: np.ndarray) -> FittedHead:
    """The whole head in the camera frame of the photo whose teacher landmarks (>= 468, 3) are given."""
    rig = _rig()
    fit = fit_pose(landmarks)
    face = camera_points(landmarks)
    head = fit.scale * rig.mean @ fit.rotation.T + fit.translation
    residual = face - head[:NUM_MESH_LANDMARKS]
    head[:NUM_MESH_LANDMARKS] = face
    head[NUM_MESH_LANDMARKS:] += residual[rig.anchor] * rig.anchor_weight[:, None]
    pivot = fit.scale * fit.rotation @ NECK_PIVOT + fit.translation
    head[rig.neck] = fit.scale * (rig.mean[rig.neck] - NECK_PIVOT) + pivot  # upright
    return FittedHead(head, pivot, fit.scale)


def delta_rotation(angles: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The rotation ``dR`` taking a head at ``angles`` to ``target``: ``dR @ R(angles) == R(target)``."""
    r_target = euler_to_matrix(*np.asarray(target, np.float64))
    return r_target @ euler_to_matrix(*np.asarray(angles, np.float64)).T


def turn_head(head: FittedHead, angles: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(V, 3) vertices of ``head`` (seen at ``angles``) turned about the neck pivot to ``target``;
    the neck stays."""
    turned = head.vertices.copy()
    moving = ~_rig().neck
    turned[moving] = (head.vertices[moving] - head.pivot) @ delta_rotation(angles, target).T + head.pivot
    return turned


def mirror_landmarks(landmarks: np.ndarray, width: int) -> np.ndarray:
    """Landmarks (478 or 468, 3) of the horizontally mirrored image (``width`` pixels wide).

    x becomes ``width - 1 - x`` and points swap with their mirror twins, so index i still names
    the same face-mesh vertex.
    """
    lm = np.array(landmarks, np.float64, copy=True)
    out = lm.copy()
    out[:NUM_MESH_LANDMARKS] = lm[_rig().mirror]
    if len(lm) >= IRIS_BLOCKS[1][-1] + 1:
        out[IRIS_BLOCKS[0]], out[IRIS_BLOCKS[1]] = lm[IRIS_BLOCKS[1]], lm[IRIS_BLOCKS[0]]
    out[:, 0] = width - 1 - out[:, 0]
    return out
