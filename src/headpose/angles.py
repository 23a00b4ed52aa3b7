"""The one owner of angle conventions: Euler <-> rotation matrix, and Hopenet's bins.

Angles are degrees everywhere, ordered (yaw, pitch, roll). The camera frame has x right, y up,
z toward the viewer; a head at identity faces the camera. Labels follow the 300W-LP / AFLW2000-3D
``Pose_Para`` convention, for which

    R = Rx(-pitch) @ Ry(-yaw) @ Rz(-roll)

i.e. (yaw, pitch, roll) = -(b, a, c) where (a, b, c) are R's intrinsic XYZ Euler angles.
Positive yaw turns the face toward image left, positive pitch tilts it up.
"""

from __future__ import annotations

import numpy as np

# Hopenet's binning: 66 bins of 3 degrees covering [-99, +99).
BIN_WIDTH_DEG = 3.0
NUM_BINS = 66
ANGLE_LIMIT_DEG = BIN_WIDTH_DEG * NUM_BINS / 2  # 99
BIN_CENTERS_DEG = -ANGLE_LIMIT_DEG + BIN_WIDTH_DEG * (np.arange(NUM_BINS) + 0.5)


def _rx(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([o, z, z, z, c, -s, z, s, c], -1).reshape(*a.shape, 3, 3)


def _ry(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([c, z, s, z, o, z, -s, z, c], -1).reshape(*a.shape, 3, 3)


def _rz(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([c, -s, z, s, c, z, z, z, o], -1).reshape(*a.shape, 3, 3)


def euler_to_matrix(yaw, pitch, roll) -> np.ndarray:
    """Rotation matrix (..., 3, 3) of head pose angles in degrees (scalars or arrays)."""
    yaw, pitch, roll = (np.deg2rad(np.asarray(x, np.float64)) for x in (yaw, pitch, roll))
    return _rx(-pitch) @ _ry(-yaw) @ _rz(-roll)


def matrix_to_euler(rotation: np.ndarray) -> np.ndarray:
    """(yaw, pitch, roll) in degrees, shape (..., 3), from rotation matrices (..., 3, 3).

    Inverse of :func:`euler_to_matrix` for |yaw| < 90; beyond that the same matrix is returned as
    the equivalent triple with |yaw| <= 90.
    """
    r = np.asarray(rotation, np.float64)
    b = np.arcsin(np.clip(r[..., 0, 2], -1.0, 1.0))
    a = np.arctan2(-r[..., 1, 2], r[..., 2, 2])
    c = np.arctan2(-r[..., 0, 1], r[..., 0, 0])
    return np.rad2deg(np.stack([-b, -a, -c], -1))


def wrap_deg(angles_deg) -> np.ndarray:
    """Angles in degrees wrapped to [-180, 180)."""
    return (np.asarray(angles_deg, np.float64) + 180.0) % 360.0 - 180.0


def equivalent_euler(ypr: np.ndarray) -> np.ndarray:
    """The other (yaw, pitch, roll) triple of the same rotation: yaw mirrored about +-90 deg, pitch and
    roll turned by 180 deg (wrapped to [-180, 180)). Labels past |yaw| = 90 are this branch."""
    ypr = np.asarray(ypr, np.float64)
    yaw = np.where(ypr[..., 0] >= 0, 180.0, -180.0) - ypr[..., 0]
    return wrap_deg(np.stack([yaw, ypr[..., 1] + 180.0, ypr[..., 2] + 180.0], -1))


def axis_angle_to_matrix(axis: np.ndarray, angle_deg) -> np.ndarray:
    """Rotation matrices (..., 3, 3) turning by ``angle_deg`` about ``axis`` (..., 3) (Rodrigues)."""
    axis = np.asarray(axis, np.float64)
    axis = axis / np.linalg.norm(axis, axis=-1, keepdims=True)
    x, y, z = np.moveaxis(axis, -1, 0)
    zero = np.zeros_like(x)
    k = np.stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).reshape(*x.shape, 3, 3)
    a = np.deg2rad(np.asarray(angle_deg, np.float64))[..., None, None]
    return np.eye(3) + np.sin(a) * k + (1.0 - np.cos(a)) * k @ k


def aflw_pose_para_to_ypr(pose_para: np.ndarray) -> np.ndarray:
    """AFLW2000-3D / 300W-LP ``Pose_Para[:3]`` (pitch, yaw, roll in radians) -> (yaw, pitch, roll) degrees."""
    pitch, yaw, roll = np.rad2deg(np.asarray(pose_para, np.float64)[..., :3]).T
    return np.stack([yaw, pitch, roll], -1)


def flip_horizontal(ypr: np.ndarray) -> np.ndarray:
    """Angles of the mirror image: yaw and roll change sign, pitch does not."""
    out = np.array(ypr, np.float64, copy=True)
    out[..., 0] *= -1
    out[..., 2] *= -1
    return out


def rotate_in_plane(ypr: np.ndarray, angle_deg: float) -> np.ndarray:
    """Angles after the image is rotated counter-clockwise by ``angle_deg`` about its centre.

    A counter-clockwise image rotation is a rotation of the head about the optical axis (z):
    R' = Rz(angle) @ R, converted back to Euler angles through the matrix.
    """
    rotation = euler_to_matrix(*np.moveaxis(np.asarray(ypr, np.float64), -1, 0))
    return matrix_to_euler(_rz(np.deg2rad(np.asarray(angle_deg, np.float64))) @ rotation)


def angle_to_bin(angles_deg) -> np.ndarray:
    """Index of the 3-degree bin holding each angle, clipped to [0, NUM_BINS - 1]."""
    idx = np.floor((np.asarray(angles_deg, np.float64) + ANGLE_LIMIT_DEG) / BIN_WIDTH_DEG)
    return np.clip(idx, 0, NUM_BINS - 1).astype(np.int64)


def geodesic_deg(r1: np.ndarray, r2: np.ndarray) -> np.ndarray:
    """Angle in degrees of the rotation taking r1 to r2."""
    rel = np.swapaxes(np.asarray(r1), -1, -2) @ np.asarray(r2)
    cos = (np.trace(rel, axis1=-2, axis2=-1) - 1.0) / 2.0
    return np.rad2deg(np.arccos(np.clip(cos, -1.0, 1.0)))
