"""Head pose from MediaPipe's 468 mesh landmarks: a weighted orthogonal Procrustes fit.

MediaPipe's face-geometry pipeline does not predict pose with a network; it fits the canonical
face mesh to the landmarks. We use the weak-perspective form of that fit: landmarks in image
pixels (x right, y down, z = relative depth in pixel units, smaller = nearer the camera) become
camera-frame points ``P = (x, -y, -z)`` (x right, y up, z toward the viewer) and we solve

    min_{s, R, t}  sum_i w_i || s R V_i + t - P_i ||^2

for the canonical vertices ``V`` (cm) with MediaPipe's Procrustes weights ``w`` (Umeyama 1991).
``R`` is the head rotation in the project's camera frame, so :func:`angles.matrix_to_euler` gives
the label-convention angles.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from headpose.angles import matrix_to_euler
from headpose.synth.landmarks import canonical_mesh

NUM_MESH_LANDMARKS = 468


@dataclass(frozen=True)
class PoseFit:
    rotation: np.ndarray  # (3, 3) head rotation, camera frame x right / y up / z toward the viewer
    scale: float  # pixels per cm of the canonical mesh
    translation: np.ndarray  # (3,) pixels: P ~ scale * rotation @ V + translation
    residual: float  # weighted RMS fit error in cm of the canonical mesh (shape + noise)

    @property
    def angles(self) -> np.ndarray:
        """(yaw, pitch, roll) in degrees."""
        return matrix_to_euler(self.rotation)

    def project(self, vertices: np.ndarray) -> np.ndarray:
        """Image pixels (x, y) of model-frame points (..., 3) under this fit (weak perspective)."""
        cam = self.scale * np.asarray(vertices, np.float64) @ self.rotation.T + self.translation
        return np.stack([cam[..., 0], -cam[..., 1]], -1)


@cache
def _reference() -> tuple[np.ndarray, np.ndarray]:
    mesh = canonical_mesh()
    weights = mesh["procrustes_weights"].astype(np.float64)
    return mesh["vertices"].astype(np.float64), weights / weights.sum()


def camera_points(landmarks: np.ndarray) -> np.ndarray:
    """Image landmarks (N, 3) (x, y down, z depth) -> camera-frame points (x, y up, z toward the viewer)."""
    lm = np.asarray(landmarks, np.float64)[:NUM_MESH_LANDMARKS]
    return np.stack([lm[:, 0], -lm[:, 1], -lm[:, 2]], -1)


def fit_pose(landmarks: np.ndarray) -> PoseFit:
    """Weighted similarity fit of the canonical mesh to (>= 468, 3) image landmarks."""
    if np.shape(landmarks)[0] < NUM_MESH_LANDMARKS or not np.isfinite(landmarks[:NUM_MESH_LANDMARKS]).all():
        raise ValueError(
            f"fit_pose needs {NUM_MESH_LANDMARKS} finite (x, y, z) landmarks, got shape {np.shape(landmarks)}"
        )
    source, w = _reference()
    target = camera_points(landmarks)
    mu_s, mu_t = w @ source, w @ target
    s0, t0 = source - mu_s, target - mu_t
    cov = (t0 * w[:, None]).T @ s0
    u, sigma, vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(u @ vt))
    fix = np.diag([1.0, 1.0, d])
    rotation = u @ fix @ vt
    var_s = float(w @ (s0**2).sum(1))
    scale = float((sigma * np.diag(fix)).sum() / var_s)
    translation = mu_t - scale * rotation @ mu_s
    err = (scale * source @ rotation.T + translation - target) / scale
    residual = float(np.sqrt(w @ (err**2).sum(1)))
    return PoseFit(rotation, scale, translation, residual)
