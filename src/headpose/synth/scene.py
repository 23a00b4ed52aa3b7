"""The scene of one synthetic image: who it shows, how the head is turned, the camera, the light.

An identity (shape + skin, hair, eye and lip colours) comes from its own random stream, so it is
the same in every chunk; everything else is drawn per image from the chunk's stream. Labels follow
:mod:`headpose.angles`: the head's rotation in the camera frame is ``euler_to_matrix(yaw, pitch,
roll)``. The crop is the one real data gets (:func:`headpose.data.crops.box_from_landmarks` on the
projected 68 landmarks) with detector-like jitter, rendered straight at the output size.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from headpose.data.crops import box_from_landmarks
from headpose.synth.config import IDENTITY_STREAM, SynthConfig, random_stream
from headpose.synth.features import FEATURES
from headpose.synth.head_model import NECK_PIVOT, HeadModel
from headpose.synth.landmarks import template_landmarks_68
from headpose.synth.render import Hair, Light

FULL_FRAME_FOCAL = 1000.0  # px; cancels out (crops are rendered at output size) except via off-axis angles

# Colour palettes (RGB in [0, 1]); skin tones form a ramp sampled by ``skin_tone_range``.
SKIN_TONES = np.array([[0.96, 0.80, 0.69], [0.87, 0.66, 0.52], [0.62, 0.43, 0.30], [0.33, 0.22, 0.15]])
HAIR_COLOURS = np.array(
    [
        [0.05, 0.04, 0.04],
        [0.18, 0.12, 0.08],
        [0.36, 0.24, 0.14],
        [0.72, 0.58, 0.36],
        [0.52, 0.24, 0.11],
        [0.62, 0.62, 0.60],
    ]
)
HAIR_WEIGHTS = np.array([0.3, 0.3, 0.17, 0.1, 0.05, 0.08])
IRIS_COLOURS = np.array([[0.30, 0.17, 0.08], [0.12, 0.08, 0.06], [0.30, 0.45, 0.60], [0.32, 0.42, 0.26]])
SCLERA, DARK = np.array([0.88, 0.86, 0.82]), np.array([0.06, 0.03, 0.03])


def sample_pose(config: SynthConfig, rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 3) yaw, pitch, roll: uniform in the box, with one angle pushed past the threshold for some."""
    ranges = [config.yaw_range, config.pitch_range, config.roll_range]
    ypr = np.stack([rng.uniform(*r, n) for r in ranges], 1)
    for a, std in ((1, config.pitch_std), (2, config.roll_std)):
        if std is not None:
            lo, hi = ranges[a]
            normal = rng.normal(0.0, std, n)
            ypr[:, a] = np.where(
                (normal < lo) | (normal > hi), ypr[:, a], normal
            )  # outliers keep the uniform draw
    large = rng.random(n) < config.large_angle_fraction
    axis = rng.integers(0, 3, n)
    u = rng.random(n)
    thr = config.large_angle_threshold
    for a, (lo, hi) in enumerate(ranges):
        # The part of [lo, hi] beyond +-thr: [lo, min(hi, -thr)] and [max(lo, thr), hi].
        neg, pos = max(min(hi, -thr) - lo, 0.0), max(hi - max(lo, thr), 0.0)
        pick = large & (axis == a)
        if neg + pos == 0 or not pick.any():
            continue
        t = u[pick] * (neg + pos)
        ypr[pick, a] = np.where(t < neg, lo + t, max(lo, thr) + (t - neg))
    return ypr


def sample_expression(config: SynthConfig, rng: np.random.Generator, model: HeadModel, n: int) -> np.ndarray:
    """(n, E) expression parameters ~ N(0, expression_std^2), folded into each one's plausible range."""
    expression = rng.normal(0.0, config.expression_std, (n, model.num_expression))
    expression[:, 0] = np.abs(expression[:, 0])  # mouth_open >= 0
    expression[:, 3] = np.clip(expression[:, 3], -0.5, 2.0)  # eye_close: 2 is shut
    return expression


def sample_identity(config: SynthConfig, model: HeadModel, subject: int) -> dict[str, Any]:
    """Shape and colours of one identity, from its own random stream (the same in every chunk)."""
    rng = random_stream(config.seed, IDENTITY_STREAM, subject)
    shape = rng.normal(0.0, config.shape_std, model.num_shape)
    tone = rng.uniform(*config.skin_tone_range) * (len(SKIN_TONES) - 1)
    low = min(int(tone), len(SKIN_TONES) - 2)
    skin = SKIN_TONES[low] + (tone - low) * (SKIN_TONES[low + 1] - SKIN_TONES[low])
    skin = np.clip(skin + rng.normal(0, 0.025, 3), 0, 1)
    hair = np.clip(HAIR_COLOURS[rng.choice(len(HAIR_COLOURS), p=HAIR_WEIGHTS)] * rng.uniform(0.8, 1.2), 0, 1)
    hairline = np.inf if rng.random() < config.bald_fraction else rng.uniform(-0.1, 0.35)
    iris = IRIS_COLOURS[rng.integers(len(IRIS_COLOURS))] * rng.uniform(0.7, 1.2)
    lips = skin * np.array([0.95, 0.66, 0.66]) * rng.uniform(0.8, 1.05)
    brow = hair * 0.8 if np.isfinite(hairline) else HAIR_COLOURS[1]
    albedo = skin * (1.0 + rng.normal(0.0, config.albedo_noise, (model.num_vertices, 1)))
    palette = {"brow": brow, "sclera": SCLERA, "iris": iris, "dark": DARK, "lips": lips}
    return {
        "shape": shape,
        "skin": skin,
        "albedo": np.clip(albedo, 0, 1).astype(np.float32),
        "hair": Hair(hair, hairline, 0.05).packed(),
        "palette": np.stack([palette[k] for k in FEATURES]).astype(np.float32),
    }


def sample_head_position(config: SynthConfig, rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 3) neck-pivot positions in the camera frame: a distance along a ray near the optical axis."""
    distance = rng.uniform(*config.distance_range, n)
    off = np.deg2rad(config.off_axis_max) * np.sqrt(rng.random(n))  # uniform over the cone's disc
    phi = rng.uniform(0, 2 * np.pi, n)
    ray = np.stack([np.sin(off) * np.cos(phi), np.sin(off) * np.sin(phi), -np.cos(off)], 1)
    return ray * distance[:, None]


def crop_cameras(
    config: SynthConfig,
    rng: np.random.Generator,
    model: HeadModel,
    rotation: np.ndarray,
    pivot_cam: np.ndarray,
    shape: np.ndarray,
    expression: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per image (f, cx, cy) of the output crop and the 68 landmarks in its pixels.

    The box is crops.box_from_landmarks on the full-frame projection (as for real photos), then
    jittered like a face detector's; it is never smaller than 60% of the frontal face's box, so
    heads seen from behind or below still fill the crop.
    """
    n = len(rotation)
    local = model.landmarks_68(shape, expression) - NECK_PIVOT
    points = np.einsum("nij,nkj->nki", rotation, local) + pivot_cam[:, None]
    depth = -points[..., 2]
    full = FULL_FRAME_FOCAL * np.stack([points[..., 0], -points[..., 1]], -1) / depth[..., None]
    template = template_landmarks_68()
    frontal_extent = FULL_FRAME_FOCAL * np.ptp(template[:, :2], axis=0).max() / depth.mean(1)
    margin = rng.uniform(*config.crop_margin_range, n)
    shift = rng.uniform(-config.crop_shift, config.crop_shift, (n, 2))
    camera = np.empty((n, 3))
    landmarks = np.empty((n, 68, 2))
    for i in range(n):
        x0, y0, x1, y1 = box_from_landmarks(full[i], margin[i])
        side = max(x1 - x0, 0.6 * frontal_extent[i] * (1 + 2 * margin[i]))
        centre = np.array([x0 + x1, y0 + y1]) / 2 + shift[i] * side
        corner = centre - side / 2
        scale = config.image_size / side
        # Same pixel-centre mapping as crops.to_crop_coords: p_out = (p - corner + 0.5) * scale - 0.5.
        landmarks[i] = (full[i] - corner + 0.5) * scale - 0.5
        camera[i] = (FULL_FRAME_FOCAL * scale, *((0.5 - corner) * scale - 0.5))
    return camera.astype(np.float32), landmarks


def sample_lights(config: SynthConfig, rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 9) packed lights (see render.Light): directions uniform over a cone toward the camera."""
    cos_theta = rng.uniform(np.cos(np.deg2rad(config.light_max_angle)), 1.0, n)  # uniform over the cap
    sin_theta = np.sqrt(1 - cos_theta**2)
    phi = rng.uniform(0, 2 * np.pi, n)
    warmth = rng.uniform(-0.12, 0.12, n)[:, None]
    return Light(
        direction=np.stack([sin_theta * np.cos(phi), sin_theta * np.sin(phi), cos_theta], 1),
        intensity=rng.uniform(*config.light_intensity_range, n),
        ambient=rng.uniform(*config.ambient_range, n),
        specular=rng.uniform(*config.specular_range, n),
        colour=1.0 + warmth * np.array([1.0, 0.2, -1.0]),
    ).packed()
