"""The synthetic head-pose dataset: random 3D heads rendered at random poses (the default data).

Each image: an identity (shape + skin, hair, eye and lip colours) from a pool of
``num_identities``, a random expression, a pose from the configured box, a camera at a random
distance (perspective strength) and off-axis angle, random light (:mod:`headpose.synth.scene`), a
random background and sometimes an occluder (:mod:`headpose.synth.backgrounds`). Parameters:
:class:`headpose.synth.config.SynthConfig`.

Images are rendered in fixed chunks of ``CHUNK_SIZE``, each from its own random stream, so the
output is bit-identical for any number of worker processes.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from multiprocessing import get_context
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from headpose.angles import euler_to_matrix
from headpose.data.faceset import FaceSet
from headpose.synth.backgrounds import (
    BACKGROUND_KEYS,
    background_bank,
    compose_background,
    draw_occluder,
    sample_backgrounds,
    sample_occluders,
)
from headpose.synth.config import CHUNK_STREAM, SynthConfig, random_stream
from headpose.synth.features import feature_texture, feature_triangles
from headpose.synth.head_model import NECK_PIVOT, head_model
from headpose.synth.render import render_into
from headpose.synth.scene import (
    crop_cameras,
    sample_expression,
    sample_head_position,
    sample_identity,
    sample_lights,
    sample_pose,
)

CHUNK_SIZE = 64  # images per task and per random stream: fixed so outputs never depend on workers


def generate(
    config: SynthConfig | Mapping[str, Any], workers: int | None = None, progress: bool = True
) -> FaceSet:
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
    rng = random_stream(config.seed, CHUNK_STREAM, chunk)
    model, size = head_model(), config.image_size
    index = start + np.arange(n)
    subjects = index * config.num_identities // config.num_images  # consecutive images share an identity
    people = {s: sample_identity(config, model, int(s)) for s in np.unique(subjects)}
    shape = np.stack([people[s]["shape"] for s in subjects])
    ypr = sample_pose(config, rng, n)
    expression = sample_expression(config, rng, model, n)
    rotation = euler_to_matrix(ypr[:, 0], ypr[:, 1], ypr[:, 2])
    pivot_cam = sample_head_position(config, rng, n)
    camera, landmarks = crop_cameras(config, rng, model, rotation, pivot_cam, shape, expression)
    lights = sample_lights(config, rng, n)
    backgrounds = sample_backgrounds(rng, n, size, config.background_noise)
    occluders = sample_occluders(config, rng, n)

    bank, texture, textured = background_bank(config.seed, size), feature_texture(), feature_triangles()
    images = np.empty((n, size, size, 3), np.uint8)
    depth = np.empty((size, size), np.float32)
    # Whole-chunk vertex maths in a few vectorised calls; the per-image loop is the numba kernels.
    vertices = model.articulate(model.vertices(shape, expression), rotation)
    vertices += pivot_cam[:, None].astype(np.float32)
    for i in range(n):
        person = people[subjects[i]]
        depth[:] = 0.0
        render_into(
            images[i],
            depth,
            vertices[i],
            model.triangles,
            person["albedo"],
            model.hair,
            person["hair"],
            model.uvs,
            textured,
            texture,
            person["palette"],
            camera[i],
            lights[i],
        )
        compose_background(
            images[i], depth, bank[backgrounds["tile"][i]], *(backgrounds[k][i] for k in BACKGROUND_KEYS)
        )
        if occluders["present"][i]:
            draw_occluder(images[i], landmarks[i], {k: v[i] for k, v in occluders.items()}, person["skin"])
    translation = pivot_cam - np.einsum("nij,j->ni", rotation, NECK_PIVOT)
    labels = pd.DataFrame(
        {
            "yaw": ypr[:, 0],
            "pitch": ypr[:, 1],
            "roll": ypr[:, 2],
            "source": "synthetic",
            "subject": [f"synth{config.seed}-{s}" for s in subjects],
            "index": index,
        }
    )
    arrays = {
        "rotation": rotation,
        "landmarks": landmarks,
        "shape_params": shape,
        "expression_params": expression,
        "camera_matrix": _camera_matrices(camera),
        "translation": translation,
    }
    return FaceSet(images, labels, {k: v.astype(np.float32) for k, v in arrays.items()})


def _camera_matrices(camera: np.ndarray) -> np.ndarray:
    """(n, 3, 3) OpenCV camera matrices of per-image (f, cx, cy)."""
    f, cx, cy = camera.T
    matrix = np.zeros((len(camera), 3, 3))
    matrix[:, 0, 0], matrix[:, 1, 1], matrix[:, 0, 2], matrix[:, 1, 2], matrix[:, 2, 2] = f, f, cx, cy, 1.0
    return matrix
