"""The profiling driver: rotate a photographed head to a target pose and render its training crop.

See :mod:`headpose.synth.profiling` for the recipe; this module runs it on one face
(:func:`profile_face`) and on a pseudo-labelled FaceSet (:func:`profile_faceset`).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import cv2
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from headpose.angles import flip_horizontal
from headpose.data.crops import box_from_landmarks
from headpose.data.faceset import ANGLE_COLUMNS, FaceSet
from headpose.errors import ConfigError, DatasetError
from headpose.synth.head_model import head_model
from headpose.synth.landmarks import MESH_INDEX_68
from headpose.synth.profiling.background import border_background, compose_bank_background, photo_scene
from headpose.synth.profiling.config import ProfileConfig, sample_target
from headpose.synth.profiling.fit import fit_head, mirror_landmarks, turn_head
from headpose.synth.profiling.texture import fill_colours, photo_colours, texture_rig, texture_weight
from headpose.synth.textured import render_textured_into
from headpose.teacher.pose import NUM_MESH_LANDMARKS


@dataclass(frozen=True)
class ProfiledFace:
    image: np.ndarray  # (S, S, 3) uint8 training crop
    angles: np.ndarray  # (3,) yaw, pitch, roll of the rendered head: the target
    landmarks_68: np.ndarray  # (68, 2) crop pixels of the new view
    mesh_landmarks: np.ndarray  # (468, 3) the new view's face mesh points in crop pixels, as teacher
    # landmarks: x right, y down, z relative depth (smaller = nearer)
    mirrored: bool  # the photo was mirrored before turning


class _View(NamedTuple):
    """The turned head in the output crop."""

    screen: np.ndarray  # (V, 2) crop pixels
    depth: np.ndarray  # (V,) > 0, larger = nearer
    corner: np.ndarray  # (2,) top-left of the crop box in the photo's pixels
    side: float  # crop box side in the photo's pixels
    scale: float  # crop pixels per photo pixel


def profile_face(
    image: np.ndarray,
    landmarks: np.ndarray,
    angles: np.ndarray,
    target: np.ndarray,
    rng: np.random.Generator,
    config: ProfileConfig | Mapping[str, Any] | None = None,
) -> ProfiledFace:
    """Re-render the face of ``image`` (uint8 (H, W, 3)) at pose ``target``.

    ``landmarks`` (>= 468, 3): the teacher's landmarks in ``image`` pixels (x right, y down, z
    relative depth, smaller = nearer); ``angles``: the teacher's (yaw, pitch, roll) of that face.
    ``rng`` draws the crop jitter and the background.
    """
    config = ProfileConfig.from_dict(config)
    source = np.ascontiguousarray(image, np.uint8)
    if source.ndim != 3 or source.shape[2] != 3:
        raise ValueError(f"profile_face expects a uint8 (H, W, 3) image, got {source.shape}")
    lm = np.asarray(landmarks, np.float64)
    angles, target = np.asarray(angles, np.float64), np.asarray(target, np.float64)
    mirrored = bool(config.mirror and angles[0] * target[0] < 0)
    if mirrored:
        source = np.ascontiguousarray(source[:, ::-1])
        lm, angles = mirror_landmarks(lm[:NUM_MESH_LANDMARKS], source.shape[1]), flip_horizontal(angles)

    head = fit_head(lm)
    # Where the photo shows each vertex, and how far to trust it.
    source_xy = np.stack([head.vertices[:, 0], -head.vertices[:, 1]], 1).astype(np.float32)
    source_depth = head.vertices[:, 2].astype(np.float32)
    weight, silhouette = texture_weight(
        source, source_xy, source_depth, head.vertices.astype(np.float32), head.scale, config.texture_fade
    )
    fallback = fill_colours(source, source_xy, weight, lm)
    turned = turn_head(head, angles, target)
    view = _crop_view(turned, config, rng)

    size = config.image_size
    scene = photo_scene(source, silhouette, view.side) if config.background == "photo" else None
    source, source_xy, scene, ratio = _shrunk(source, source_xy, scene, size, view.side)
    if config.background == "bank":
        out = np.zeros((size, size, 3), np.uint8)
    elif config.background == "photo":
        out = _photo_crop(scene, view, ratio, size)
        # skull, neck and ears the photo never showed take the scene behind them: no invented bald crown
        scene_fill = texture_rig().scene_fill
        fallback[scene_fill] = photo_colours(out, view.screen[scene_fill])
    else:
        out = border_background(source, size, rng)
    zbuf = np.zeros((size, size), np.float32)
    render_textured_into(
        out,
        zbuf,
        view.screen.astype(np.float32),
        view.depth.astype(np.float32),
        texture_rig().triangles,
        np.ascontiguousarray(source_xy),
        source,
        fallback,
        weight,
    )
    if config.background == "bank":
        compose_bank_background(out, zbuf, rng, config.background_seed, config.background_noise)
    mesh = np.column_stack([view.screen[:NUM_MESH_LANDMARKS], -(turned[:NUM_MESH_LANDMARKS, 2] * view.scale)])
    mesh[:, 2] -= mesh[:, 2].mean()
    return ProfiledFace(out, target.copy(), view.screen[MESH_INDEX_68].copy(), mesh, mirrored)


def _crop_view(turned: np.ndarray, config: ProfileConfig, rng: np.random.Generator) -> _View:
    """The crop of the turned head: box_from_landmarks of its 68 landmarks, jittered, at image_size."""
    view_xy = np.stack([turned[:, 0], -turned[:, 1]], 1)
    x0, y0, x1, y1 = box_from_landmarks(view_xy[MESH_INDEX_68], config.crop_margin)
    side = (x1 - x0) * (1.0 + rng.uniform(-config.crop_scale_jitter, config.crop_scale_jitter))
    centre = np.array([x0 + x1, y0 + y1]) / 2 + rng.uniform(-config.crop_shift, config.crop_shift, 2) * side
    scale = config.image_size / side
    corner = centre - side / 2
    screen = (view_xy - corner + 0.5) * scale - 0.5
    depth = turned[:, 2] * scale
    depth = depth - depth.min() + 1.0  # > 0 everywhere: a zero z-buffer means "no head"
    return _View(screen, depth, corner, side, scale)


def _shrunk(
    source: np.ndarray, source_xy: np.ndarray, scene: np.ndarray | None, size: int, side: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """Photos much larger than the crop are shrunk first, so bilinear sampling does not alias.

    Returns the (possibly shrunk) photo, source coordinates in it, scene, and the (2,) shrink ratio.
    """
    shrink = min(1.0, 2.0 * size / (side + 1e-9))
    ratio = np.ones(2, np.float32)
    if shrink >= 0.75:
        return source, source_xy, scene, ratio
    new_size = (max(1, round(source.shape[1] * shrink)), max(1, round(source.shape[0] * shrink)))
    small = cv2.resize(source, new_size, interpolation=cv2.INTER_AREA)
    ratio = np.array([small.shape[1] / source.shape[1], small.shape[0] / source.shape[0]], np.float32)
    source_xy = (source_xy + 0.5) * ratio - 0.5
    if scene is not None:
        scene = cv2.resize(scene, new_size, interpolation=cv2.INTER_AREA)
    return small, source_xy, scene, ratio


def _photo_crop(scene: np.ndarray, view: _View, ratio: np.ndarray, size: int) -> np.ndarray:
    """The crop box of the (possibly shrunk) scene: the same map as ``view.screen``, from its pixels."""
    a = view.scale / ratio
    offset = 0.5 * a - view.corner * view.scale - 0.5
    warp = np.array([[a[0], 0.0, offset[0]], [0.0, a[1], offset[1]]])
    return cv2.warpAffine(scene, warp, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def profile_faceset(
    faceset: FaceSet,
    config: ProfileConfig | Mapping[str, Any] | None = None,
    per_face: int = 1,
    seed: int = 0,
    progress: bool = True,
) -> FaceSet:
    """``per_face`` profiled crops of every face of a pseudo-labelled FaceSet.

    Needs ``arrays["landmarks_478"]`` (N, >= 468, 3): the teacher's landmarks in each crop's pixels,
    and yaw/pitch/roll labels. Rows are face-major (face i's copies at ``i * per_face + k``), each
    from its own random stream keyed by (seed, i), so the output is the same for a seed whatever
    else runs. labels: yaw, pitch, roll (the targets), source="profiled", source_index (the input
    row), and the input row's other columns (subject, file, ...). arrays: landmarks (N, 68, 2).
    """
    config = ProfileConfig.from_dict(config)
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


def benchmark(
    num_images: int = 512,
    image_size: int = 128,
    seed: int = 1,
    config: ProfileConfig | Mapping[str, Any] | None = None,
) -> dict:
    """Profiled images/s in this process (one core) on synthetic heads whose labels are exact.

    The inputs are 32 synthetic renders with landmarks from :func:`synthetic_landmarks_478`; a warm-up
    run first (numba cache, head model, background bank) makes the figure steady-state speed.
    """
    from headpose.synth.generate import generate

    config = replace(ProfileConfig.from_dict(config), image_size=image_size)
    synth = generate({"num_images": 32, "image_size": 128, "seed": seed, "workers": 1}, progress=False)
    inputs = FaceSet(synth.images, synth.labels, {"landmarks_478": synthetic_landmarks_478(synth)})
    profile_faceset(inputs.subset(np.arange(2)), config, 1, seed, progress=False)
    load = os.getloadavg()[0]  # other work on the machine lowers the figure
    per_face = max(1, math.ceil(num_images / len(inputs)))
    start = time.perf_counter()
    out = profile_faceset(inputs, config, per_face, seed, progress=False)
    elapsed = time.perf_counter() - start
    result = {
        "image_size": image_size,
        "images": len(out),
        "seconds": round(elapsed, 3),
        "images_per_s": round(len(out) / elapsed, 1),
        "load_average_before": load,
    }
    return result


def preview_figure(
    faceset: FaceSet,
    n: int = 4,
    per_face: int = 3,
    config: ProfileConfig | Mapping[str, Any] | None = None,
    seed: int = 0,
):
    """matplotlib Figure: one row per sampled face of a pseudo-labelled FaceSet, the source crop and
    ``per_face`` profiled renders, captioned with their angles (for MLflow)."""
    from matplotlib.figure import Figure

    from headpose.visualize import preview_grid

    config = ProfileConfig.from_dict(config)
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
