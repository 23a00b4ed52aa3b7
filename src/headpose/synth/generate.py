"""The synthetic head-pose dataset: random 3D heads rendered at random poses (the default data).

Each image: an identity (shape + skin, hair, eye and lip colours) from a pool of
``num_identities``, a random expression, a pose from the configured box, a camera at a random
distance (perspective strength) and off-axis angle, random light, a random background and
sometimes an occluder. The crop is the one real data gets (:func:`headpose.data.crops.
box_from_landmarks` on the projected 68 landmarks) with detector-like jitter, rendered straight
at the output size. Labels follow :mod:`headpose.angles`: the head's rotation in the camera
frame is ``euler_to_matrix(yaw, pitch, roll)``.

Randomness comes from numpy Generators keyed by (seed, stream, index): one per identity, one per
fixed chunk of ``CHUNK_SIZE`` images, one for the background bank. So the output is bit-identical
for any number of worker processes.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from functools import cache
from multiprocessing import get_context
from typing import Any

import cv2
import numpy as np
import pandas as pd
from numba import njit
from tqdm.auto import tqdm

from headpose.angles import euler_to_matrix
from headpose.data.crops import box_from_landmarks
from headpose.data.faceset import FaceSet
from headpose.config import Config, knob
from headpose.synth.head_model import (FEATURES, NECK_PIVOT, HeadModel, feature_texture, feature_triangles,
                                       head_model)
from headpose.synth.landmarks import template_landmarks_68
from headpose.synth.render import Hair, Light, render_into

CHUNK_SIZE = 64          # images per task and per random stream: fixed so outputs never depend on workers
BANK_SIZE = 30           # background tiles, drawn once per (seed, image_size)
FULL_FRAME_FOCAL = 1000.0  # px; cancels out (crops are rendered at output size) except via off-axis angles
_CHUNK, _IDENTITY, _BANK = 0, 1, 2  # random streams

# Colour palettes (RGB in [0, 1]); skin tones form a ramp sampled by ``skin_tone_range``.
SKIN_TONES = np.array([[0.96, 0.80, 0.69], [0.87, 0.66, 0.52], [0.62, 0.43, 0.30], [0.33, 0.22, 0.15]])
HAIR_COLOURS = np.array([[0.05, 0.04, 0.04], [0.18, 0.12, 0.08], [0.36, 0.24, 0.14],
                         [0.72, 0.58, 0.36], [0.52, 0.24, 0.11], [0.62, 0.62, 0.60]])
HAIR_WEIGHTS = np.array([0.3, 0.3, 0.17, 0.1, 0.05, 0.08])
IRIS_COLOURS = np.array([[0.30, 0.17, 0.08], [0.12, 0.08, 0.06], [0.30, 0.45, 0.60], [0.32, 0.42, 0.26]])
SCLERA, DARK = np.array([0.88, 0.86, 0.82]), np.array([0.06, 0.03, 0.03])


@dataclass(frozen=True)
class SynthConfig(Config, section="synth"):
    """Synthetic-data parameters (the ``synth:`` block of parameters_data.yml). Angles in degrees.

    Pose: uniform over the (yaw, pitch, roll) box -- or, for pitch and roll with ``pitch_std`` /
    ``roll_std`` set, normal around 0 as in photos of people (values outside the range are redrawn
    uniformly inside it) -- except that a ``large_angle_fraction`` of images draw one of the three
    angles (chosen at random) from beyond +-``large_angle_threshold`` inside its range. Labels
    never leave the box.
    """

    num_images: int = knob(1000, lo=1)
    image_size: int = knob(128, lo=16, hi=1024)
    seed: int = knob(0, lo=0)
    num_identities: int = knob(200, lo=1)              # split into equal runs of consecutive images
    workers: int | None = knob(None, lo=1)          # processes; None: one per CPU (output is the same)
    yaw_range: tuple[float, float] = knob((-99.0, 99.0), lo=-180, hi=180, ordered=True)
    pitch_range: tuple[float, float] = knob((-90.0, 90.0), lo=-90, hi=90, ordered=True)
    roll_range: tuple[float, float] = knob((-90.0, 90.0), lo=-180, hi=180, ordered=True)
    pitch_std: float | None = knob(None, lo=1, hi=180)      # None: uniform over pitch_range
    roll_std: float | None = knob(None, lo=1, hi=180)       # None: uniform over roll_range
    large_angle_fraction: float = knob(0.3, lo=0, hi=1)
    large_angle_threshold: float = knob(45.0, lo=0, hi=180)
    shape_std: float = knob(1.0, lo=0, hi=3)              # identity parameters ~ N(0, shape_std^2)
    expression_std: float = knob(0.7, lo=0, hi=3)         # expression parameters ~ N(0, expression_std^2)
    skin_tone_range: tuple[float, float] = knob((0.0, 1.0), lo=0, hi=1, ordered=True)  # 0 lightest .. 1 darkest
    albedo_noise: float = knob(0.04, lo=0, hi=0.5)        # per-vertex skin brightness variation
    bald_fraction: float = knob(0.1, lo=0, hi=1)
    light_intensity_range: tuple[float, float] = knob((0.3, 1.0), lo=0, hi=3, ordered=True)
    ambient_range: tuple[float, float] = knob((0.2, 0.6), lo=0, hi=2, ordered=True)
    light_max_angle: float = knob(80.0, lo=0, hi=90)      # light direction within this cone around the camera axis
    specular_range: tuple[float, float] = knob((0.0, 0.25), lo=0, hi=1, ordered=True)
    distance_range: tuple[float, float] = knob((40.0, 150.0), lo=25, hi=10000, ordered=True)  # cm; near = strong perspective
    off_axis_max: float = knob(10.0, lo=0, hi=30)         # angle between the optical axis and the head
    crop_margin_range: tuple[float, float] = knob((0.15, 0.35), lo=0, hi=2, ordered=True)  # crops.box_from_landmarks margin
    crop_shift: float = knob(0.05, lo=0, hi=0.5)          # box centre jitter, fraction of its side
    occlusion_probability: float = knob(0.3, lo=0, hi=1)
    occluder_size_range: tuple[float, float] = knob((0.15, 0.45), lo=0.01, hi=2, ordered=True)  # fraction of the image side
    background_noise: float = knob(0.03, lo=0, hi=0.5)


def generate(config: SynthConfig | Mapping[str, Any], workers: int | None = None,
             progress: bool = True) -> FaceSet:
    """Render ``config.num_images`` labelled crops (see the module docstring for what is random).

    labels: yaw, pitch, roll (degrees), source="synthetic", subject, index. arrays: rotation
    (N, 3, 3); landmarks (N, 68, 2) in output pixels; shape_params (N, S); expression_params
    (N, E); camera_matrix (N, 3, 3) and translation (N, 3) such that a model point X lies at
    ``rotation @ X + translation`` in the camera frame (x right, y up, z toward the viewer) and
    projects by the OpenCV matrix ``camera_matrix`` applied to (x, -y, -z).
    """
    config = config if isinstance(config, SynthConfig) else SynthConfig.from_dict(config)
    if workers is not None:
        config = replace(config, workers=workers)  # checked as the config's own knob
    workers = config.workers
    n_chunks = math.ceil(config.num_images / CHUNK_SIZE)
    workers = min(workers or os.cpu_count() or 1, n_chunks)
    # Chunks land in one preallocated image array, so peak memory is the dataset, not twice it.
    images = np.empty((config.num_images, config.image_size, config.image_size, 3), np.uint8)
    parts: list[tuple[pd.DataFrame, dict[str, np.ndarray]]] = [None] * n_chunks  # type: ignore[list-item]

    def store(k: int, chunk: FaceSet) -> None:
        images[k * CHUNK_SIZE : k * CHUNK_SIZE + len(chunk)] = chunk.images
        parts[k] = (chunk.labels, chunk.arrays)
        bar.update(len(chunk))

    with tqdm(total=config.num_images, desc="synthetic heads", unit="img", disable=not progress) as bar:
        if workers == 1:
            for k in range(n_chunks):
                store(k, render_chunk(config, k))
        else:
            # spawn, not fork: the parent may hold threads (torch, MLflow) that fork would copy mid-lock.
            with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
                futures = {pool.submit(render_chunk, config, k): k for k in range(n_chunks)}
                for future in as_completed(futures):
                    store(futures[future], future.result())
    labels = pd.concat([labels for labels, _ in parts], ignore_index=True)
    arrays = {k: np.concatenate([arrays[k] for _, arrays in parts]) for k in parts[0][1]}
    return FaceSet(images, labels, arrays)


def render_chunk(config: SynthConfig, chunk: int) -> FaceSet:
    """Images ``chunk * CHUNK_SIZE`` onward (at most CHUNK_SIZE), from their own random stream."""
    start = chunk * CHUNK_SIZE
    n = min(CHUNK_SIZE, config.num_images - start)
    rng = np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(_CHUNK, chunk)))
    model, size = head_model(), config.image_size
    index = start + np.arange(n)
    subjects = index * config.num_identities // config.num_images  # consecutive images share an identity
    people = {s: _identity(config, model, int(s)) for s in np.unique(subjects)}
    shape = np.stack([people[s]["shape"] for s in subjects])
    ypr = _sample_pose(config, rng, n)
    expression = rng.normal(0.0, config.expression_std, (n, model.num_expression))
    expression[:, 0] = np.abs(expression[:, 0])                    # mouth_open >= 0
    expression[:, 3] = np.clip(expression[:, 3], -0.5, 2.0)        # eye_close: 2 is shut
    rotation = euler_to_matrix(ypr[:, 0], ypr[:, 1], ypr[:, 2])
    pivot_cam = _sample_head_position(config, rng, n)
    camera, landmarks = _crop_cameras(config, rng, model, rotation, pivot_cam, shape, expression)
    lights = _sample_lights(config, rng, n)
    backgrounds = _sample_backgrounds(config, rng, n)
    occluders = _sample_occluders(config, rng, n)

    bank, texture, textured = background_bank(config.seed, size), feature_texture(), feature_triangles()
    images = np.empty((n, size, size, 3), np.uint8)
    depth = np.empty((size, size), np.float32)
    # Whole-chunk vertex maths in a few vectorised calls; the per-image loop is the numba kernels.
    vertices = model.articulate(model.vertices(shape, expression), rotation)
    vertices += pivot_cam[:, None].astype(np.float32)
    for i in range(n):
        person = people[subjects[i]]
        depth[:] = 0.0
        render_into(images[i], depth, vertices[i], model.triangles, person["albedo"], model.hair,
                    person["hair"], model.uvs, textured, texture, person["palette"], camera[i], lights[i])
        _compose_background(images[i], depth, bank[backgrounds["tile"][i]],
                            *(backgrounds[k][i] for k in _BACKGROUND_KEYS))
        if occluders["present"][i]:
            _draw_occluder(images[i], landmarks[i], {k: v[i] for k, v in occluders.items()}, person["skin"])
    translation = pivot_cam - np.einsum("nij,j->ni", rotation, NECK_PIVOT)
    f, cx, cy = camera.T
    matrix = np.zeros((n, 3, 3))
    matrix[:, 0, 0], matrix[:, 1, 1], matrix[:, 0, 2], matrix[:, 1, 2], matrix[:, 2, 2] = f, f, cx, cy, 1.0
    labels = pd.DataFrame({"yaw": ypr[:, 0], "pitch": ypr[:, 1], "roll": ypr[:, 2], "source": "synthetic",
                           "subject": [f"synth{config.seed}-{s}" for s in subjects], "index": index})
    arrays = {"rotation": rotation, "landmarks": landmarks, "shape_params": shape,
              "expression_params": expression, "camera_matrix": matrix, "translation": translation}
    return FaceSet(images, labels, {k: v.astype(np.float32) for k, v in arrays.items()})


def _sample_pose(config: SynthConfig, rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 3) yaw, pitch, roll: uniform in the box, with one angle pushed past the threshold for some."""
    ranges = [config.yaw_range, config.pitch_range, config.roll_range]
    ypr = np.stack([rng.uniform(*r, n) for r in ranges], 1)
    for a, std in ((1, config.pitch_std), (2, config.roll_std)):
        if std is not None:
            lo, hi = ranges[a]
            normal = rng.normal(0.0, std, n)
            ypr[:, a] = np.where((normal < lo) | (normal > hi), ypr[:, a], normal)  # outliers keep the uniform draw
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


def _identity(config: SynthConfig, model: HeadModel, subject: int) -> dict[str, Any]:
    """Shape and colours of one identity, from its own random stream (the same in every chunk)."""
    rng = np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(_IDENTITY, subject)))
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


def _sample_head_position(config: SynthConfig, rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 3) neck-pivot positions in the camera frame: a distance along a ray near the optical axis."""
    distance = rng.uniform(*config.distance_range, n)
    off = np.deg2rad(config.off_axis_max) * np.sqrt(rng.random(n))  # uniform over the cone's disc
    phi = rng.uniform(0, 2 * np.pi, n)
    ray = np.stack([np.sin(off) * np.cos(phi), np.sin(off) * np.sin(phi), -np.cos(off)], 1)
    return ray * distance[:, None]


def _crop_cameras(config: SynthConfig, rng: np.random.Generator, model: HeadModel, rotation: np.ndarray,
                  pivot_cam: np.ndarray, shape: np.ndarray,
                  expression: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def _sample_lights(config: SynthConfig, rng: np.random.Generator, n: int) -> np.ndarray:
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


_BACKGROUND_KEYS = ("offset", "flip", "mix", "bias", "gradient", "noise", "noise_seed")


def _sample_backgrounds(config: SynthConfig, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Per image: which bank tile, where, mirrored or not, and a random colour transform."""
    spare = background_tile_side(config.image_size) - config.image_size
    gain = rng.uniform(0.5, 1.2, (n, 1, 1))
    # Desaturate toward grey by a random amount: real backgrounds are rarely as vivid as the tiles.
    saturation = rng.uniform(0.0, 1.0, (n, 1, 1))
    grey = np.tile([0.299, 0.587, 0.114], (3, 1))
    return {
        "tile": rng.integers(0, BANK_SIZE, n),
        "offset": rng.integers(0, spare + 1, (n, 2)),
        "flip": rng.random(n) < 0.5,
        "mix": (gain * (saturation * np.eye(3) + (1 - saturation) * grey
                        + rng.normal(0, 0.05, (n, 3, 3)))).astype(np.float32),
        "bias": rng.uniform(-0.2, 0.2, (n, 3)).astype(np.float32),
        "gradient": rng.normal(0, 0.25, (n, 2, 3)).astype(np.float32),
        "noise": rng.uniform(0, config.background_noise, n).astype(np.float32),
        "noise_seed": rng.integers(1, 2**62, n, dtype=np.uint64),
    }


def background_tile_side(image_size: int) -> int:
    return image_size * 3 // 2


@cache
def background_bank(seed: int, image_size: int) -> np.ndarray:
    """(BANK_SIZE, side, side, 3) float32 tiles in [0, 1]: smooth noise, blobs, stripes, clutter."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_BANK,)))
    side = background_tile_side(image_size)
    makers = (_smooth_noise, _blobs, _stripes, _clutter)
    return np.stack([makers[i % len(makers)](rng, side) for i in range(BANK_SIZE)]).astype(np.float32)


def _smooth_noise(rng: np.random.Generator, side: int) -> np.ndarray:
    out = np.zeros((side, side, 3), np.float32)
    for octave, weight in ((rng.integers(2, 5), 0.7), (rng.integers(6, 16), 0.3)):
        grid = rng.random((octave, octave, 3)).astype(np.float32)
        out += weight * cv2.resize(grid, (side, side), interpolation=cv2.INTER_CUBIC)
    return np.clip(out, 0, 1)


def _blobs(rng: np.random.Generator, side: int) -> np.ndarray:
    out = np.full((side, side, 3), rng.random(3), np.float32)
    for _ in range(rng.integers(3, 12)):
        centre = tuple(int(c) for c in rng.integers(0, side, 2))
        axes = tuple(int(a) for a in rng.integers(side // 16, side // 3, 2))
        angle = float(rng.uniform(0, 180))
        cv2.ellipse(out, centre, axes, angle, 0, 360, rng.random(3).tolist(), -1, cv2.LINE_AA)
    return cv2.GaussianBlur(out, (0, 0), float(rng.uniform(0.5, 4)))


def _stripes(rng: np.random.Generator, side: int) -> np.ndarray:
    y, x = np.mgrid[:side, :side].astype(np.float32)
    angle, period = rng.uniform(0, np.pi), rng.uniform(6, side / 2)
    wave = np.sin(2 * np.pi * (x * np.cos(angle) + y * np.sin(angle)) / period + rng.uniform(0, 2 * np.pi))
    t = np.clip(0.5 + rng.uniform(0.5, 4) * wave / 2, 0, 1)[..., None]  # soft to hard edges
    return (1 - t) * rng.random(3) + t * rng.random(3)


def _clutter(rng: np.random.Generator, side: int) -> np.ndarray:
    """Indoor-like scene: rectangles (furniture, windows) and lines."""
    out = np.full((side, side, 3), rng.random(3), np.float32)
    for _ in range(rng.integers(4, 14)):
        p, q = rng.integers(-side // 4, side + side // 4, (2, 2))
        if rng.random() < 0.7:
            cv2.rectangle(out, tuple(int(v) for v in p), tuple(int(v) for v in q), rng.random(3).tolist(), -1)
        else:
            cv2.line(out, tuple(int(v) for v in p), tuple(int(v) for v in q), rng.random(3).tolist(),
                     int(rng.integers(1, 6)), cv2.LINE_AA)
    return cv2.GaussianBlur(out, (0, 0), float(rng.uniform(0.3, 1.5)))


@njit(cache=True)
def _compose_background(out: np.ndarray, depth: np.ndarray, tile: np.ndarray, offset: np.ndarray, flip: bool,
                        mix: np.ndarray, bias: np.ndarray, gradient: np.ndarray, noise: float,
                        noise_seed: np.uint64) -> None:
    """Where ``depth`` is 0 (no head): tile window @ mix.T + bias + linear gradient + uniform noise."""
    height, width = out.shape[0], out.shape[1]
    scale = np.float32(2.0 / 2097152.0)
    for y in range(height):
        for x in range(width):
            if depth[y, x] > 0:
                continue
            # splitmix64 of (seed, pixel): independent noise per pixel, no serial dependency.
            z = noise_seed + np.uint64(y * width + x) * np.uint64(0x9E3779B97F4A7C15)
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            z ^= z >> np.uint64(31)
            sx = offset[1] + (width - 1 - x if flip else x)
            gx, gy = np.float32(x / width - 0.5), np.float32(y / height - 0.5)
            for c in range(3):
                value = bias[c] + gradient[0, c] * gx + gradient[1, c] * gy
                for k in range(3):
                    value += mix[c, k] * tile[offset[0] + y, sx, k]
                bits = (z >> np.uint64(1 + 21 * c)) & np.uint64(2097151)  # 21 bits per channel
                value += noise * (np.float32(bits) * scale - np.float32(1.0))
                out[y, x, c] = np.uint8(min(max(value * np.float32(255.0) + np.float32(0.5), 0.0), 255.0))


def _sample_occluders(config: SynthConfig, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Per image: an occluder or not, its kind (ellipse, rectangle, hand), where, how big, what colour."""
    return {
        "present": rng.random(n) < config.occlusion_probability,
        "kind": rng.integers(0, 3, n),
        "anchor": rng.integers(0, 68, n),                                # lies over this landmark
        "offset": rng.normal(0, 0.08, (n, 2)) * config.image_size,
        "size": rng.uniform(*config.occluder_size_range, n) * config.image_size,
        "aspect": rng.uniform(0.3, 1.0, n),
        "angle": rng.uniform(0, 180, n),
        "colour": rng.random((n, 3)),
    }


def _draw_occluder(image: np.ndarray, landmarks: np.ndarray, occ: dict[str, Any], skin: np.ndarray) -> None:
    """Draw one occluder (antialiased; 4 fractional bits of sub-pixel position)."""
    centre = landmarks[occ["anchor"]] + occ["offset"]
    size, angle = occ["size"], occ["angle"]
    colour = (np.clip(occ["colour"], 0, 1) * 255).tolist()

    def ellipse(at: np.ndarray, half_axes: tuple[float, float], degrees: float) -> None:
        fixed = lambda p: tuple(int(round(v * 16)) for v in p)  # noqa: E731  4 fractional bits
        cv2.ellipse(image, fixed(at), fixed(half_axes), degrees, 0, 360, colour, -1, cv2.LINE_AA, 4)

    if occ["kind"] == 0:
        ellipse(centre, (size / 2, size * occ["aspect"] / 2), angle)
    elif occ["kind"] == 1:
        corners = cv2.boxPoints((tuple(centre), (size, size * occ["aspect"]), angle))
        cv2.fillConvexPoly(image, np.round(corners * 16).astype(np.int32), colour, cv2.LINE_AA, 4)
    else:  # a hand: palm plus four fingers and a thumb, skin-coloured
        colour = (np.clip(skin * (0.8 + 0.3 * occ["colour"]), 0, 1) * 255).tolist()
        rad = np.deg2rad(angle)
        along, across = np.array([np.cos(rad), np.sin(rad)]), np.array([-np.sin(rad), np.cos(rad)])
        palm = size * 0.3
        ellipse(centre, (palm, palm * 0.85), angle)
        for j, length in enumerate((0.45, 0.5, 0.47, 0.38)):
            base = centre + along * palm * 0.8 + across * palm * (j - 1.5) * 0.5
            ellipse(base + along * size * length * 0.5, (size * length * 0.5, palm * 0.2), angle)
        ellipse(centre - across * palm * 1.1 + along * palm * 0.2, (palm * 0.6, palm * 0.22), angle - 50)
