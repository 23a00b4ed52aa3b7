"""The ``profile.render`` parameter block, and the target poses it asks for."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from headpose.config import Config, knob
from headpose.data.crops import DEFAULT_MARGIN

BACKGROUNDS = ("bank", "border", "photo")


@dataclass(frozen=True)
class ProfileConfig(Config, section="profile"):
    """Face-profiling parameters (angles in degrees). See :mod:`headpose.synth.profiling` for the recipe.

    Targets: yaw uniform over ``yaw_range`` at least ``min_yaw_delta`` away from the yaw the head
    is turned from; pitch = the teacher's pitch + a uniform draw from ``pitch_delta_range``
    (clipped to [-90, 90]); roll = the teacher's roll + a draw from ``roll_delta_range`` (by default
    kept). Crops: ``crop_margin`` as in crops.box_from_landmarks, centre jitter ``crop_shift`` and
    side jitter ``crop_scale_jitter`` (fractions of the side).
    """

    image_size: int = knob(128, lo=16, hi=1024)
    yaw_range: tuple[float, float] = knob((-99.0, 99.0), lo=-180, hi=180, ordered=True)
    pitch_delta_range: tuple[float, float] = knob((-20.0, 20.0), lo=-90, hi=90, ordered=True)
    roll_delta_range: tuple[float, float] = knob((0.0, 0.0), lo=-180, hi=180, ordered=True)
    min_yaw_delta: float = knob(15.0, lo=0, hi=180)
    mirror: bool = True  # mirror the photo when the target turns the other way
    crop_margin: float = knob(DEFAULT_MARGIN, lo=0, hi=2)
    crop_shift: float = knob(0.03, lo=0, hi=0.5)
    crop_scale_jitter: float = knob(0.05, lo=0, hi=0.5)
    background: str = knob("bank", choices=BACKGROUNDS)  # "photo" | "bank" (synthetic tiles) | "border"
    background_seed: int = knob(0, lo=0)  # which background bank
    background_noise: float = knob(0.03, lo=0, hi=0.5)
    texture_fade: float = knob(0.3, lo=0.01, hi=1)  # photo texture fades below this cosine to the source view


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


def _allowed_yaw(lo: float, hi: float, exclude: list[float], gap: float) -> list[tuple[float, float]]:
    """[lo, hi] minus the open intervals (e - gap, e + gap)."""
    pieces = [(lo, hi)]
    for e in exclude:
        pieces = [
            piece
            for a, b in pieces
            for piece in ((a, min(b, e - gap)), (max(a, e + gap), b))
            if piece[1] > piece[0]
        ]
    return pieces
