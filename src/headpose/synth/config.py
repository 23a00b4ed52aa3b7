"""The ``synth:`` parameter block, and the random streams every synthetic image draws from.

Randomness comes from numpy Generators keyed by (seed, stream, index): one per identity, one per
fixed chunk of images, one for the background bank. So the output is bit-identical for any number
of worker processes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from headpose.config import Config, knob

CHUNK_STREAM, IDENTITY_STREAM, BANK_STREAM = 0, 1, 2


def random_stream(seed: int, *key: int) -> np.random.Generator:
    """The Generator of stream ``key`` (e.g. ``(IDENTITY_STREAM, subject)``) under ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


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
    num_identities: int = knob(200, lo=1)  # split into equal runs of consecutive images
    workers: int | None = knob(None, lo=1)  # processes; None: one per CPU (output is the same)
    yaw_range: tuple[float, float] = knob((-99.0, 99.0), lo=-180, hi=180, ordered=True)
    pitch_range: tuple[float, float] = knob((-90.0, 90.0), lo=-90, hi=90, ordered=True)
    roll_range: tuple[float, float] = knob((-90.0, 90.0), lo=-180, hi=180, ordered=True)
    pitch_std: float | None = knob(None, lo=1, hi=180)  # None: uniform over pitch_range
    roll_std: float | None = knob(None, lo=1, hi=180)  # None: uniform over roll_range
    large_angle_fraction: float = knob(0.3, lo=0, hi=1)
    large_angle_threshold: float = knob(45.0, lo=0, hi=180)
    shape_std: float = knob(1.0, lo=0, hi=3)  # identity parameters ~ N(0, shape_std^2)
    expression_std: float = knob(0.7, lo=0, hi=3)  # expression parameters ~ N(0, expression_std^2)
    skin_tone_range: tuple[float, float] = knob(
        (0.0, 1.0), lo=0, hi=1, ordered=True
    )  # 0 lightest .. 1 darkest
    albedo_noise: float = knob(0.04, lo=0, hi=0.5)  # per-vertex skin brightness variation
    bald_fraction: float = knob(0.1, lo=0, hi=1)
    light_intensity_range: tuple[float, float] = knob((0.3, 1.0), lo=0, hi=3, ordered=True)
    ambient_range: tuple[float, float] = knob((0.2, 0.6), lo=0, hi=2, ordered=True)
    light_max_angle: float = knob(
        80.0, lo=0, hi=90
    )  # light direction within this cone around the camera axis
    specular_range: tuple[float, float] = knob((0.0, 0.25), lo=0, hi=1, ordered=True)
    distance_range: tuple[float, float] = knob(
        (40.0, 150.0), lo=25, hi=10000, ordered=True
    )  # cm; near = strong perspective
    off_axis_max: float = knob(10.0, lo=0, hi=30)  # angle between the optical axis and the head
    crop_margin_range: tuple[float, float] = knob(
        (0.15, 0.35), lo=0, hi=2, ordered=True
    )  # crops.box_from_landmarks margin
    crop_shift: float = knob(0.05, lo=0, hi=0.5)  # box centre jitter, fraction of its side
    occlusion_probability: float = knob(0.3, lo=0, hi=1)
    occluder_size_range: tuple[float, float] = knob(
        (0.15, 0.45), lo=0.01, hi=2, ordered=True
    )  # fraction of the image side
    background_noise: float = knob(0.03, lo=0, hi=0.5)
