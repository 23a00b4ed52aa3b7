"""Face profiling: a photographed face re-rendered at a new pose (300W-LP's recipe, "3DDFA profiling").

From a photo, its 478 MediaPipe landmarks and the teacher's angles, build a textured 3D head and
turn it to a target pose whose label is exact by construction:

1. Shape. The face vertices are the photo's own 468 landmark points in the camera frame
   (:func:`headpose.teacher.pose.camera_points`: the face keeps its real shape). Skull, ears and
   neck come from :func:`headpose.synth.head_model.head_model`'s mean, placed by the Procrustes fit
   ``P ~ s R V + t`` of :func:`headpose.teacher.pose.fit_pose`; the fit's residual on the face
   outline is carried onto the skull rings (fading toward the back) and the ears, so they join the
   real face outline. The neck stays upright (the body does not turn with the head), as in
   :meth:`HeadModel.articulate`.
2. Texture. A vertex's source coordinate is its projection into the photo (a face vertex: its
   landmark's own x, y). Where the photo never showed the surface (it faces away from the camera,
   is hidden behind nearer surface, or lies outside the image) a fill colour sampled from the
   photo takes over, blended smoothly: skin from the cheeks and forehead, hair from the visible
   top of the head, faded by the head model's hair score.
3. Pose. The head turns about the neck pivot by ``dR = R_target @ R_teacher.T`` with both
   matrices from :func:`headpose.angles.euler_to_matrix`, so the rendered head's rotation is
   ``dR @ R_teacher = R_target`` and the label is exactly ``target``. When the target turns to
   the other side than the photo does (and ``mirror`` is on), the photo is mirrored first
   (:func:`headpose.angles.flip_horizontal`): then the side the new view shows is the side the
   photo saw.
4. Crop. The training crop is cut like every other one: :func:`headpose.data.crops.
   box_from_landmarks` of the new view's projected 68 landmarks with the configured margin, plus
   jitter, rendered straight at ``image_size`` over a background: the photo itself with the head's
   old silhouette filled from its surroundings ("photo", as 300W-LP keeps the scene: hair beyond
   the skull, shoulders and background stay where they were), the synthetic background bank of
   :mod:`headpose.synth.generate` ("bank"), or a smooth fill of the photo's border colours ("border").

Rendering is weak-perspective (orthographic at the fit's scale), which is also the teacher fit's
camera model.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any

import cv2
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix, csr_matrix
from scipy.spatial import cKDTree
from tqdm.auto import tqdm

from headpose.angles import euler_to_matrix, flip_horizontal
from headpose.data.crops import DEFAULT_MARGIN, box_from_landmarks
from headpose.data.faceset import ANGLE_COLUMNS, FaceSet
from headpose.errors import ConfigError, DatasetError, reject_unknown_keys
from headpose.synth.generate import (_BACKGROUND_KEYS, SynthConfig, _compose_background, _sample_backgrounds,
                                     background_bank)
from headpose.synth.head_model import (EAR, FACE, NECK, NECK_PIVOT, SKULL, SKULL_RINGS, _face_outline,
                                       head_model)
from headpose.synth.landmarks import MESH_INDEX_68, canonical_mesh
from headpose.synth.render import vertex_normals
from headpose.synth.textured import depth_into, render_textured_into, visible_vertices
from headpose.teacher.pose import NUM_MESH_LANDMARKS, camera_points, fit_pose

BACKGROUNDS = ("bank", "border", "photo")
# Plain-skin vertices of the face mesh: cheeks (both sides) and forehead.
SKIN_VERTICES = np.array([50, 280, 101, 330, 205, 425, 117, 346, 151, 108, 337, 9])
FOREHEAD_TOP, CHIN = 10, 152
# Iris landmarks after the 468 mesh points: two blocks of five (centre + four), one per eye.
IRIS_BLOCKS = (np.arange(468, 473), np.arange(473, 478))
# Fill colour per part, relative to the sampled skin: ears and neck sit a little in shadow.
PART_SHADE = {FACE: 1.0, SKULL: 1.0, EAR: 0.92, NECK: 0.85}
HIDDEN_TOLERANCE_CM = 0.6  # a vertex further than this behind the visible surface is hidden
SILHOUETTE_MARGIN_PX = 1   # photo pixels a trusted vertex keeps from the head's outline in the photo
HOLE_GROW = 0.06           # the old silhouette is grown by this share of the face size before filling


def _knob(default: Any, lo: float | None = None, hi: float | None = None) -> Any:
    return field(default=default, metadata={"lo": lo, "hi": hi})


@dataclass(frozen=True)
class ProfileConfig:
    """Face-profiling parameters (angles in degrees). See the module docstring for the recipe.

    Targets: yaw uniform over ``yaw_range`` at least ``min_yaw_delta`` away from the yaw the head
    is turned from; pitch = the teacher's pitch + a uniform draw from ``pitch_delta_range``
    (clipped to [-90, 90]); roll = the teacher's roll + a draw from ``roll_delta_range`` (by default
    kept). Crops: ``crop_margin`` as in crops.box_from_landmarks, centre jitter ``crop_shift`` and
    side jitter ``crop_scale_jitter`` (fractions of the side).
    """

    image_size: int = _knob(128, 16, 1024)
    yaw_range: tuple[float, float] = _knob((-99.0, 99.0), -180, 180)
    pitch_delta_range: tuple[float, float] = _knob((-20.0, 20.0), -90, 90)
    roll_delta_range: tuple[float, float] = _knob((0.0, 0.0), -180, 180)
    min_yaw_delta: float = _knob(15.0, 0, 180)
    mirror: bool = True                        # mirror the photo when the target turns the other way
    crop_margin: float = _knob(DEFAULT_MARGIN, 0, 2)
    crop_shift: float = _knob(0.03, 0, 0.5)
    crop_scale_jitter: float = _knob(0.05, 0, 0.5)
    background: str = "bank"                   # "photo" | "bank" (generate.py's tiles) | "border"
    background_seed: int = _knob(0, 0)         # which background bank
    background_noise: float = _knob(0.03, 0, 0.5)
    texture_fade: float = _knob(0.3, 0.01, 1)  # photo texture fades out below this cosine to the source view

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, _check(f.name, getattr(self, f.name), f.default, f.metadata))

    @classmethod
    def from_dict(cls, params: Mapping[str, Any] | None) -> ProfileConfig:
        params = dict(params or {})
        reject_unknown_keys("profile", params, cls)
        return cls(**params)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)  # bool is an int subclass


def _check(key: str, value: Any, default: Any, meta: Mapping[str, Any]) -> Any:
    """The value in canonical form (ints widened to float, lists to tuples); ConfigError naming the key."""
    lo, hi = meta.get("lo"), meta.get("hi")
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"profile.{key}: expected true or false, got {value!r}")
        return value
    if isinstance(default, str):
        if value not in BACKGROUNDS:
            raise ConfigError(f"profile.{key}: expected one of {list(BACKGROUNDS)}, got {value!r}")
        return value
    if isinstance(default, tuple):
        if (not isinstance(value, (list, tuple)) or len(value) != 2 or not all(map(_is_number, value))
                or not lo <= value[0] <= value[1] <= hi):
            raise ConfigError(f"profile.{key}: expected [low, high] with {lo} <= low <= high <= {hi}, "
                              f"got {value!r}")
        return (float(value[0]), float(value[1]))
    if isinstance(default, int) and not (_is_number(value) and float(value).is_integer()):
        raise ConfigError(f"profile.{key}: expected an integer, got {value!r}")
    if not _is_number(value) or not math.isfinite(value):
        raise ConfigError(f"profile.{key}: expected a number, got {value!r}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ConfigError(f"profile.{key}: {value!r} is outside [{lo}, {hi}]")
    return int(value) if isinstance(default, int) else float(value)


@dataclass(frozen=True)
class ProfiledFace:
    image: np.ndarray           # (S, S, 3) uint8 training crop
    angles: np.ndarray          # (3,) yaw, pitch, roll of the rendered head: the target
    landmarks_68: np.ndarray    # (68, 2) crop pixels of the new view
    mesh_landmarks: np.ndarray  # (468, 3) the new view's face mesh points in crop pixels, as teacher
                                # landmarks: x right, y down, z relative depth (smaller = nearer)
    mirrored: bool              # the photo was mirrored before turning


def delta_rotation(angles: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The rotation ``dR`` taking a head at ``angles`` to ``target``: ``dR @ R(angles) == R(target)``."""
    r_target = euler_to_matrix(*np.asarray(target, np.float64))
    return r_target @ euler_to_matrix(*np.asarray(angles, np.float64)).T


@dataclass(frozen=True)
class _Rig:
    """Per-vertex constants of the head model that profiling needs (built once per process)."""

    mean: np.ndarray         # (V, 3) float64 head-model vertices, cm
    triangles: np.ndarray    # (T, 3) int32
    neck: np.ndarray         # (V,) bool
    scene_fill: np.ndarray   # (V,) bool: skull, neck and ears, which the "photo" background fills
    anchor: np.ndarray       # (V - 468,) face vertex whose fit residual a non-face vertex follows
    anchor_weight: np.ndarray  # (V - 468,) how much of it
    mirror: np.ndarray       # (468,) index of each face vertex's mirror image
    smooth: csr_matrix       # (V, V) row-normalised adjacency (with self loops)
    hair: np.ndarray         # (V,) in [0, 1]: fill is hair colour rather than skin
    shade: np.ndarray        # (V,) fill brightness relative to the sampled skin
    hair_probe: np.ndarray   # skull vertices whose photo colour tells the hair colour


@cache
def _rig() -> _Rig:
    model = head_model()
    mean = model.mean.astype(np.float64)
    n_face = NUM_MESH_LANDMARKS
    outline = np.array(_face_outline(canonical_mesh()["triangles"]))
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
    edges = model.triangles[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)
    n = len(mean)
    rows = np.concatenate([edges[:, 0], edges[:, 1], np.arange(n)])
    cols = np.concatenate([edges[:, 1], edges[:, 0], np.arange(n)])
    adj = (coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n)).tocsr() > 0).astype(np.float64)
    smooth = csr_matrix(adj.multiply(1.0 / np.asarray(adj.sum(1))))
    score = model.hair.astype(np.float64)
    hair = np.where((model.part == SKULL) | (model.part == FACE), np.clip((score - 0.05) / 0.2, 0, 1), 0.0)
    hair = hair * hair * (3 - 2 * hair)  # smoothstep
    shade = np.array([PART_SHADE[int(p)] for p in model.part])
    return _Rig(mean, model.triangles, model.part == NECK, np.isin(model.part, (SKULL, NECK, EAR)), anchor, weight, mirror, smooth, hair, shade,
                np.flatnonzero((model.part == SKULL) & (score > 0.2)))


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


def _allowed_yaw(lo: float, hi: float, exclude: list[float], gap: float) -> list[tuple[float, float]]:
    """[lo, hi] minus the open intervals (e - gap, e + gap)."""
    pieces = [(lo, hi)]
    for e in exclude:
        pieces = [piece for a, b in pieces
                  for piece in ((a, min(b, e - gap)), (max(a, e + gap), b)) if piece[1] > piece[0]]
    return pieces


def sample_target(angles: np.ndarray, rng: np.random.Generator, config: ProfileConfig) -> np.ndarray:
    """A target (yaw, pitch, roll) for a face at ``angles``; see :class:`ProfileConfig`.

    With ``mirror`` on, yaw also keeps ``min_yaw_delta`` from ``-yaw`` (the mirrored photo's yaw);
    when the range leaves no such yaw, it is drawn anywhere in the range.
    """
    yaw, pitch, roll = (float(a) for a in angles)
    exclude = [yaw, -yaw] if config.mirror else [yaw]  # a mirrored photo turns from -yaw
    pieces = _allowed_yaw(*config.yaw_range, exclude, config.min_yaw_delta) or [config.yaw_range]
    lengths = np.array([b - a for a, b in pieces])
    u = rng.random() * lengths.sum()
    k = min(int(np.searchsorted(np.cumsum(lengths), u, side="right")), len(pieces) - 1)
    target_yaw = pieces[k][0] + (u - (np.cumsum(lengths)[k] - lengths[k]))
    target_yaw = float(np.clip(target_yaw, *pieces[k]))
    target_pitch = float(np.clip(pitch + rng.uniform(*config.pitch_delta_range), -90.0, 90.0))
    target_roll = roll + rng.uniform(*config.roll_delta_range)
    return np.array([target_yaw, target_pitch, target_roll])


def profile_face(image: np.ndarray, landmarks: np.ndarray, angles: np.ndarray, target: np.ndarray,
                 rng: np.random.Generator,
                 config: ProfileConfig | Mapping[str, Any] | None = None) -> ProfiledFace:
    """Re-render the face of ``image`` (uint8 (H, W, 3)) at pose ``target``.

    ``landmarks`` (>= 468, 3): the teacher's landmarks in ``image`` pixels (x right, y down, z
    relative depth, smaller = nearer); ``angles``: the teacher's (yaw, pitch, roll) of that face.
    ``rng`` draws the crop jitter and the background.
    """
    config = _as_config(config)
    rig = _rig()
    source = np.ascontiguousarray(image, np.uint8)
    if source.ndim != 3 or source.shape[2] != 3:
        raise ValueError(f"profile_face expects a uint8 (H, W, 3) image, got {source.shape}")
    lm = np.asarray(landmarks, np.float64)
    angles, target = np.asarray(angles, np.float64), np.asarray(target, np.float64)
    mirrored = bool(config.mirror and angles[0] * target[0] < 0)
    if mirrored:
        source = np.ascontiguousarray(source[:, ::-1])
        lm, angles = mirror_landmarks(lm[:NUM_MESH_LANDMARKS], source.shape[1]), flip_horizontal(angles)

    # 1. The head in the photo's camera frame (pixel units, x right, y up, z toward the viewer).
    fit = fit_pose(lm)
    face = camera_points(lm)
    head = fit.scale * rig.mean @ fit.rotation.T + fit.translation
    residual = face - head[:NUM_MESH_LANDMARKS]
    head[:NUM_MESH_LANDMARKS] = face
    head[NUM_MESH_LANDMARKS:] += residual[rig.anchor] * rig.anchor_weight[:, None]
    pivot = fit.scale * fit.rotation @ NECK_PIVOT + fit.translation
    head[rig.neck] = fit.scale * (rig.mean[rig.neck] - NECK_PIVOT) + pivot  # upright

    # 2. Where the photo shows each vertex, and how far to trust it.
    source_xy = np.stack([head[:, 0], -head[:, 1]], 1).astype(np.float32)
    source_depth = head[:, 2].astype(np.float32)
    weight, silhouette = _texture_weight(rig, source, source_xy, source_depth, head.astype(np.float32),
                                         fit.scale, config.texture_fade)
    fallback = _fill_colours(rig, source, source_xy, weight, lm)

    # 3. The turned head: R_target = dR @ R_teacher, about the neck pivot; the neck stays.
    turned = head.copy()
    moving = ~rig.neck
    turned[moving] = (head[moving] - pivot) @ delta_rotation(angles, target).T + pivot

    # 4. Crop from the new view's 68 landmarks, rendered straight at the output size.
    size = config.image_size
    view_xy = np.stack([turned[:, 0], -turned[:, 1]], 1)
    x0, y0, x1, y1 = box_from_landmarks(view_xy[MESH_INDEX_68], config.crop_margin)
    side = (x1 - x0) * (1.0 + rng.uniform(-config.crop_scale_jitter, config.crop_scale_jitter))
    centre = np.array([x0 + x1, y0 + y1]) / 2 + rng.uniform(-config.crop_shift, config.crop_shift, 2) * side
    scale = size / side
    screen = (view_xy - (centre - side / 2) + 0.5) * scale - 0.5
    depth = turned[:, 2] * scale
    depth = depth - depth.min() + 1.0  # > 0 everywhere: a zero z-buffer means "no head"

    scene = _fill_holes(source, _grow(silhouette, HOLE_GROW * side)) if config.background == "photo" else None
    # Photos much larger than the crop are shrunk first, so bilinear sampling does not alias.
    shrink = min(1.0, 2.0 * size / (side + 1e-9))
    ratio = np.ones(2, np.float32)
    if shrink < 0.75:
        new_size = (max(1, round(source.shape[1] * shrink)), max(1, round(source.shape[0] * shrink)))
        small = cv2.resize(source, new_size, interpolation=cv2.INTER_AREA)
        ratio = np.array([small.shape[1] / source.shape[1], small.shape[0] / source.shape[0]], np.float32)
        source_xy = (source_xy + 0.5) * ratio - 0.5
        source = small
        if scene is not None:
            scene = cv2.resize(scene, new_size, interpolation=cv2.INTER_AREA)

    if config.background == "bank":
        out = np.zeros((size, size, 3), np.uint8)
    elif config.background == "photo":
        # the same map as ``screen``, from the (possibly shrunk) photo's pixels
        a = scale / ratio
        offset = 0.5 * a - (centre - side / 2) * scale - 0.5
        warp = np.array([[a[0], 0.0, offset[0]], [0.0, a[1], offset[1]]])
        out = cv2.warpAffine(scene, warp, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        # skull, neck and ears the photo never showed take the scene behind them: no invented bald crown
        fallback[rig.scene_fill] = _photo_colours(out, screen[rig.scene_fill])
    else:
        out = _border_background(source, size, rng)
    zbuf = np.zeros((size, size), np.float32)
    render_textured_into(out, zbuf, screen.astype(np.float32), depth.astype(np.float32), rig.triangles,
                         np.ascontiguousarray(source_xy), source, fallback, weight)
    if config.background == "bank":
        params = _sample_backgrounds(_synth_config(size, config.background_noise), rng, 1)
        tile = background_bank(config.background_seed, size)[params["tile"][0]]
        _compose_background(out, zbuf, tile, *(params[k][0] for k in _BACKGROUND_KEYS))
    mesh = np.column_stack([screen[:NUM_MESH_LANDMARKS], -(turned[:NUM_MESH_LANDMARKS, 2] * scale)])
    mesh[:, 2] -= mesh[:, 2].mean()
    return ProfiledFace(out, target.copy(), screen[MESH_INDEX_68].copy(), mesh, mirrored)


@cache
def _synth_config(image_size: int, background_noise: float) -> SynthConfig:
    return SynthConfig(image_size=image_size, background_noise=background_noise)


def _texture_weight(rig: _Rig, source: np.ndarray, source_xy: np.ndarray, source_depth: np.ndarray,
                    head: np.ndarray, scale: float, fade: float) -> tuple[np.ndarray, np.ndarray]:
    """(V,) float32 in [0, 1]: facing the camera (faded toward grazing), not hidden, inside the photo;
    eroded by a ring of smoothing so the photo fades into the fill instead of ending at an edge.
    Also the (H, W) bool silhouette of the head in the photo."""
    normals = vertex_normals(head, rig.triangles)
    facing = np.clip(normals[:, 2] / fade, 0.0, 1.0)
    zbuf = np.full(source.shape[:2], -np.inf, np.float32)
    depth_into(zbuf, source_xy, source_depth, rig.triangles)
    shown = visible_vertices(zbuf, source_xy, source_depth, HIDDEN_TOLERANCE_CM * scale, SILHOUETTE_MARGIN_PX)
    weight = facing * shown
    for _ in range(2):
        weight = np.minimum(weight, rig.smooth @ weight)
    return weight.astype(np.float32), zbuf > -np.inf


def _grow(mask: np.ndarray, radius: float) -> np.ndarray:
    """``mask`` dilated by a disc of ``radius`` pixels (at least one)."""
    r = max(1, round(radius))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.dilate(mask.astype(np.uint8), disc).astype(bool)


def _fill_holes(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``image`` (uint8 (H, W, 3)) with the ``hole`` pixels filled smoothly from their surroundings.

    Push-pull: mask-weighted means down a Gaussian pyramid, then each level's holes take the
    upsampled coarser level; known pixels keep their values. An all-hole image comes back black.
    """
    known = (~hole).astype(np.float32)
    levels = [(image.astype(np.float32) * known[..., None], known)]
    while min(levels[-1][1].shape) > 2:
        levels.append((cv2.pyrDown(levels[-1][0]), cv2.pyrDown(levels[-1][1])))
    colour, weight = levels[-1]
    filled = colour / np.maximum(weight, 1e-6)[..., None]
    for colour, weight in reversed(levels[:-1]):
        coarse = cv2.pyrUp(filled, dstsize=(weight.shape[1], weight.shape[0]))
        alpha = np.clip(weight, 0.0, 1.0)[..., None]
        filled = colour / np.maximum(weight, 1e-6)[..., None] * alpha + coarse * (1.0 - alpha)
    out = image.copy()
    out[hole] = np.clip(filled[hole] + 0.5, 0, 255).astype(np.uint8)
    return out


def _photo_colours(source: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """(K, 3) float colours in [0, 1] of the photo's nearest pixels to points (K, 2)."""
    h, w = source.shape[:2]
    col = np.clip(np.rint(xy[:, 0]), 0, w - 1).astype(np.int64)
    row = np.clip(np.rint(xy[:, 1]), 0, h - 1).astype(np.int64)
    return source[row, col].astype(np.float64) / 255.0


def _fill_colours(rig: _Rig, source: np.ndarray, source_xy: np.ndarray, weight: np.ndarray,
                  lm: np.ndarray) -> np.ndarray:
    """(V, 3) float32 fill colours: the photo's skin (hair toward the crown), shaded per part."""
    trusted = weight > 0.5
    skin_points = SKIN_VERTICES[trusted[SKIN_VERTICES]]
    if len(skin_points) == 0:
        skin_points = np.flatnonzero(trusted[:NUM_MESH_LANDMARKS])
    skin = (np.median(_photo_colours(source, source_xy[skin_points]), 0) if len(skin_points)
            else np.median(_photo_colours(source, source_xy[SKIN_VERTICES]), 0))
    hair_points = rig.hair_probe[trusted[rig.hair_probe]]
    if len(hair_points) >= 3:
        hair = np.median(_photo_colours(source, source_xy[hair_points]), 0)
    else:  # the top of the head is out of the photo or turned away: just above the forehead, else dark
        above = lm[FOREHEAD_TOP, :2] + 0.15 * (lm[FOREHEAD_TOP, :2] - lm[CHIN, :2])
        h, w = source.shape[:2]
        inside = 0 <= above[0] <= w - 1 and 0 <= above[1] <= h - 1
        patch = above + np.stack(np.meshgrid([-2, 0, 2], [-2, 0, 2]), -1).reshape(-1, 2)
        hair = np.median(_photo_colours(source, patch), 0) if inside else 0.45 * skin
    fill = (skin[None] * (1.0 - rig.hair[:, None]) + hair[None] * rig.hair[:, None]) * rig.shade[:, None]
    return np.clip(fill, 0.0, 1.0).astype(np.float32)


def _border_background(source: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth (size, size, 3) fill of the photo's border colours: the centre (the face) is
    replaced by the border's mean, so nothing of the original face is left."""
    grid = cv2.resize(source, (4, 4), interpolation=cv2.INTER_AREA).astype(np.float32)
    ring = np.ones((4, 4), bool)
    ring[1:3, 1:3] = False
    grid[~ring] = grid[ring].mean(0)
    if rng.random() < 0.5:
        grid = grid[:, ::-1]
    out = cv2.resize(np.ascontiguousarray(grid), (size, size), interpolation=cv2.INTER_CUBIC)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _as_config(config: ProfileConfig | Mapping[str, Any] | None) -> ProfileConfig:
    return config if isinstance(config, ProfileConfig) else ProfileConfig.from_dict(config)


def profile_faceset(faceset: FaceSet, config: ProfileConfig | Mapping[str, Any] | None = None,
                    per_face: int = 1, seed: int = 0, progress: bool = True) -> FaceSet:
    """``per_face`` profiled crops of every face of a pseudo-labelled FaceSet.

    Needs ``arrays["landmarks_478"]`` (N, >= 468, 3): the teacher's landmarks in each crop's pixels,
    and yaw/pitch/roll labels. Rows are face-major (face i's copies at ``i * per_face + k``), each
    from its own random stream keyed by (seed, i), so the output is the same for a seed whatever
    else runs. labels: yaw, pitch, roll (the targets), source="profiled", source_index (the input
    row), and the input row's other columns (subject, file, ...). arrays: landmarks (N, 68, 2).
    """
    config = _as_config(config)
    if not isinstance(per_face, int) or isinstance(per_face, bool) or per_face < 1:
        raise ConfigError(f"profile.per_face: expected an integer >= 1, got {per_face!r}")
    lm = faceset.arrays.get("landmarks_478")
    if lm is None or lm.ndim != 3 or lm.shape[1] < NUM_MESH_LANDMARKS or lm.shape[2] != 3:
        shape = None if lm is None else lm.shape
        raise DatasetError(f"profiling needs arrays['landmarks_478'] of shape (N, 478, 3), got {shape}")
    n, size = len(faceset), config.image_size
    images = np.empty((n * per_face, size, size, 3), np.uint8)
    landmarks = np.empty((n * per_face, 68, 2), np.float32)
    targets = np.empty((n * per_face, 3))
    angles = faceset.angles.astype(np.float64)
    for i in tqdm(range(n), desc="profiling faces", unit="face", disable=not progress):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i,)))
        image = np.asarray(faceset.images[i])
        for k in range(per_face):
            target = sample_target(angles[i], rng, config)
            result = profile_face(image, lm[i], angles[i], target, rng, config)
            j = i * per_face + k
            images[j], landmarks[j], targets[j] = result.image, result.landmarks_68, result.angles
    rows = np.repeat(np.arange(n), per_face)
    extra = faceset.labels.drop(columns=[*ANGLE_COLUMNS, "source", "source_index"], errors="ignore")
    labels = pd.DataFrame(targets, columns=ANGLE_COLUMNS).assign(source="profiled", source_index=rows)
    labels = pd.concat([labels, extra.iloc[rows].reset_index(drop=True)], axis=1)
    return FaceSet(images, labels, {"landmarks": landmarks})


def synthetic_landmarks_478(faceset: FaceSet) -> np.ndarray:
    """(N, 478, 3) teacher-style landmarks of a :func:`headpose.synth.generate.generate` FaceSet.

    The 468 mesh points are the exact projections of each head's face vertices (shape and
    expression included) through its camera; z is depth relative to the face's mean depth, in
    pixels at that depth (smaller = nearer). The ten iris points sit at the eye centres.
    """
    model = head_model()
    a = faceset.arrays
    verts = model.vertices(a["shape_params"], a["expression_params"])[:, :NUM_MESH_LANDMARKS]
    verts = verts.astype(np.float64)
    cam = np.einsum("nij,nvj->nvi", a["rotation"].astype(np.float64), verts) + a["translation"][:, None]
    k = a["camera_matrix"].astype(np.float64)
    d = -cam[..., 2]
    f, cx, cy = k[:, 0, 0][:, None], k[:, 0, 2][:, None], k[:, 1, 2][:, None]
    d0 = d.mean(1, keepdims=True)
    mesh = np.stack([cx + f * cam[..., 0] / d, cy - f * cam[..., 1] / d, f * (d - d0) / d0], -1)
    eyes = [mesh[:, [33, 133]].mean(1), mesh[:, [362, 263]].mean(1)]
    iris = np.concatenate([np.repeat(e[:, None], 5, 1) for e in eyes], 1)
    return np.concatenate([mesh, iris], 1)


def benchmark(num_images: int = 512, image_size: int = 128, seed: int = 1,
              config: ProfileConfig | Mapping[str, Any] | None = None) -> dict:
    """Profiled images/s in this process (one core) on synthetic heads whose labels are exact.

    The inputs are 32 synthetic renders with landmarks from :func:`synthetic_landmarks_478`; a warm-up
    run first (numba cache, head model, background bank) makes the figure steady-state speed.
    """
    from headpose.synth.generate import generate

    config = _as_config(config)
    config = ProfileConfig(**{**{f.name: getattr(config, f.name) for f in fields(config)},
                              "image_size": image_size})
    synth = generate({"num_images": 32, "image_size": 128, "seed": seed, "workers": 1}, progress=False)
    inputs = FaceSet(synth.images, synth.labels, {"landmarks_478": synthetic_landmarks_478(synth)})
    profile_faceset(inputs.subset(np.arange(2)), config, 1, seed, progress=False)
    load = os.getloadavg()[0]  # other work on the machine lowers the figure
    per_face = max(1, math.ceil(num_images / len(inputs)))
    start = time.perf_counter()
    out = profile_faceset(inputs, config, per_face, seed, progress=False)
    elapsed = time.perf_counter() - start
    result = {"image_size": image_size, "images": len(out), "seconds": round(elapsed, 3),
              "images_per_s": round(len(out) / elapsed, 1), "load_average_before": load}
    return result


def preview_figure(faceset: FaceSet, n: int = 4, per_face: int = 3,
                   config: ProfileConfig | Mapping[str, Any] | None = None, seed: int = 0):
    """matplotlib Figure: one row per sampled face of a pseudo-labelled FaceSet, the source crop and
    ``per_face`` profiled renders, captioned with their angles (for MLflow)."""
    from matplotlib.figure import Figure

    from headpose.visualize import preview_grid

    config = _as_config(config)
    rng = np.random.default_rng(seed)
    picks = np.sort(rng.choice(len(faceset), size=min(n, len(faceset)), replace=False))
    chosen = faceset.subset(picks)
    profiled = profile_faceset(chosen, config, per_face, seed, progress=False)
    tiles, labels, titles = [], [], []
    for r, i in enumerate(picks):
        tiles.append(np.asarray(chosen.images[r]))
        labels.append(chosen.angles[r])
        titles.append(f"#{i} source")
        for k in range(per_face):
            j = r * per_face + k
            tiles.append(profiled.images[j])
            labels.append(profiled.angles[j])
            titles.append(f"#{i} profiled {k + 1}")
    grid = preview_grid(tiles, np.asarray(labels), titles, cols=1 + per_face)
    fig = Figure(figsize=(grid.shape[1] / 100, grid.shape[0] / 100), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(grid)
    ax.set_axis_off()
    return fig

