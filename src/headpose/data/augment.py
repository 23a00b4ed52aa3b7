"""Training augmentation that keeps (yaw, pitch, roll) labels consistent with the image.

Label-changing ops are done here, exactly: a horizontal flip maps the label through
``angles.flip_horizontal``; an in-plane rotation by theta (counter-clockwise, as cv2's positive
angle) maps it through ``angles.rotate_in_plane``. Scale and translate jitter leave it unchanged.
The mild perspective warp stands in for a small focal-length / viewpoint change of the camera;
to first order (small warps of a centred crop) the head's rotation is unchanged, so the label is
kept, which is why its strength is small by default. Photometric ops (lighting, occlusion, blur,
noise, JPEG) come from albumentations 2.0.8 and never touch labels.

Landmarks are not carried: mirroring would also need the 68-point order mirrored, and nothing
downstream trains on augmented landmarks.

Every op has a probability ``<op>_p`` and a strength knob; ``enabled: false`` makes the augmenter
the identity. All randomness comes from the numpy Generator passed per call.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import albumentations as A
import cv2
import numpy as np

from headpose import angles as ang
from headpose.config import Config, knob

_BORDERS = {
    "reflect": cv2.BORDER_REFLECT_101,
    "replicate": cv2.BORDER_REPLICATE,
    "constant": cv2.BORDER_CONSTANT,
}


def _prob(default: float) -> Any:
    return knob(default, lo=0.0, hi=1.0)


@dataclass(frozen=True)
class AugmentConfig(Config, section="augment"):
    """Augmentation parameters (the ``augment:`` block of parameters_data.yml)."""

    enabled: bool = True
    seed: int = knob(0, lo=0)  # base seed for consumers such as the preview; the augmenter uses its rng
    flip_p: float = _prob(0.5)
    rotate_p: float = _prob(0.5)
    rotate_max_deg: float = knob(30.0, lo=0.0, hi=180.0)
    scale_p: float = _prob(0.5)
    scale_max: float = knob(0.1, lo=0.0, hi=0.5)  # zoom factor drawn from [1 - s, 1 + s]
    translate_p: float = _prob(0.5)
    translate_max: float = knob(0.05, lo=0.0, hi=0.5)  # fraction of the image side
    border_mode: str = knob("reflect", choices=tuple(_BORDERS))
    perspective_p: float = _prob(0.2)
    perspective_scale: float = knob(0.03, lo=0.0, hi=0.2)  # corner jitter, fraction of the side
    hsv_p: float = _prob(0.3)
    hsv_hue: float = knob(8.0, lo=0.0, hi=180.0)
    hsv_saturation: float = knob(25.0, lo=0.0, hi=255.0)
    hsv_value: float = knob(20.0, lo=0.0, hi=255.0)
    brightness_contrast_p: float = _prob(0.5)
    brightness_max: float = knob(0.2, lo=0.0, hi=1.0)
    contrast_max: float = knob(0.2, lo=0.0, hi=1.0)
    gamma_p: float = _prob(0.3)
    gamma_max: float = knob(0.3, lo=0.0, hi=0.9)  # gamma drawn from [1 - g, 1 + g]
    occlusion_p: float = _prob(0.3)
    occlusion_max_holes: int = knob(3, lo=1, hi=20)
    occlusion_max_size: float = knob(0.3, lo=0.02, hi=1.0)  # hole side, fraction of the image side
    blur_p: float = _prob(0.1)
    blur_max_sigma: float = knob(1.2, lo=0.0, hi=10.0)
    noise_p: float = _prob(0.2)
    noise_max_std: float = knob(0.05, lo=0.0, hi=1.0)  # fraction of 255
    jpeg_p: float = _prob(0.3)
    jpeg_min_quality: int = knob(40, lo=1, hi=100)


def flip(image: np.ndarray, ypr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mirror the image left-right; yaw and roll change sign."""
    return np.ascontiguousarray(image[:, ::-1]), ang.flip_horizontal(ypr)


def affine(
    image: np.ndarray,
    ypr: np.ndarray,
    angle_deg: float = 0.0,
    scale: float = 1.0,
    shift: tuple[float, float] = (0.0, 0.0),
    border_mode: str = "reflect",
) -> tuple[np.ndarray, np.ndarray]:
    """Rotate counter-clockwise by ``angle_deg`` about the centre, zoom, then shift (fractions of w, h).

    Only the rotation changes the label (through the rotation matrix, see angles.rotate_in_plane).
    """
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), float(angle_deg), float(scale))
    matrix[:, 2] += (shift[0] * w, shift[1] * h)
    out = cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=_BORDERS[border_mode])
    return out, ang.rotate_in_plane(ypr, angle_deg) if angle_deg else np.array(ypr, np.float64)


class Augmented(NamedTuple):
    image: np.ndarray
    angles: np.ndarray
    flipped: bool


class Augmenter:
    """``augmenter(image, angles, rng) -> (image, angles)``; uint8 HxWx3 RGB, (yaw, pitch, roll) degrees."""

    def __init__(self, config: AugmentConfig) -> None:
        self.config = config
        self._photometric = A.Compose(_photometric_ops(config)) if config.enabled else None

    def __call__(
        self, image: np.ndarray, ypr: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        out = self.augment(image, ypr, rng)
        return out.image, out.angles

    def augment(self, image: np.ndarray, ypr: np.ndarray, rng: np.random.Generator) -> Augmented:
        """Like calling the augmenter, also saying whether the image was mirrored (3DMM params are not)."""
        c = self.config
        ypr = np.asarray(ypr, np.float64)
        if not c.enabled:
            return Augmented(image, ypr.copy(), False)
        flipped = bool(rng.random() < c.flip_p)
        if flipped:
            image, ypr = flip(image, ypr)
        theta = rng.uniform(-c.rotate_max_deg, c.rotate_max_deg) if rng.random() < c.rotate_p else 0.0
        # A rotation that pushes a label past the +-99 deg bin range would be unlearnable: skip it.
        if theta and np.abs(ang.rotate_in_plane(ypr, theta)).max() > ang.ANGLE_LIMIT_DEG:
            theta = 0.0
        scale = 1.0 + rng.uniform(-c.scale_max, c.scale_max) if rng.random() < c.scale_p else 1.0
        shift = (0.0, 0.0)
        if rng.random() < c.translate_p:
            shift = tuple(rng.uniform(-c.translate_max, c.translate_max, 2))
        if theta or scale != 1.0 or shift != (0.0, 0.0):
            image, ypr = affine(image, ypr, theta, scale, shift, c.border_mode)
        seed = int(rng.integers(2**32))
        self._photometric.set_random_state(np.random.default_rng(seed), random.Random(seed))
        return Augmented(self._photometric(image=image)["image"], ypr, flipped)


def _photometric_ops(c: AugmentConfig) -> list[A.BasicTransform]:
    """Label-preserving albumentations ops; those with zero probability or strength are left out."""
    half_to_max = (c.occlusion_max_size / 2, c.occlusion_max_size)
    candidates: list[tuple[float, float, Callable[[], A.BasicTransform]]] = [
        (
            c.perspective_p,
            c.perspective_scale,
            lambda: A.Perspective(
                scale=(0.0, c.perspective_scale), border_mode=_BORDERS[c.border_mode], p=c.perspective_p
            ),
        ),
        (
            c.hsv_p,
            c.hsv_hue + c.hsv_saturation + c.hsv_value,
            lambda: A.HueSaturationValue(c.hsv_hue, c.hsv_saturation, c.hsv_value, p=c.hsv_p),
        ),
        (
            c.brightness_contrast_p,
            c.brightness_max + c.contrast_max,
            lambda: A.RandomBrightnessContrast(c.brightness_max, c.contrast_max, p=c.brightness_contrast_p),
        ),
        (
            c.gamma_p,
            c.gamma_max,
            lambda: A.RandomGamma(
                gamma_limit=(100 * (1 - c.gamma_max), 100 * (1 + c.gamma_max)), p=c.gamma_p
            ),
        ),
        (
            c.occlusion_p,
            c.occlusion_max_size,
            lambda: A.CoarseDropout(
                num_holes_range=(1, c.occlusion_max_holes),
                hole_height_range=half_to_max,
                hole_width_range=half_to_max,
                fill="random_uniform",
                p=c.occlusion_p,
            ),
        ),
        (
            c.blur_p,
            c.blur_max_sigma,
            lambda: A.GaussianBlur(
                blur_limit=0, sigma_limit=(min(0.1, c.blur_max_sigma), c.blur_max_sigma), p=c.blur_p
            ),
        ),
        (c.noise_p, c.noise_max_std, lambda: A.GaussNoise(std_range=(0.0, c.noise_max_std), p=c.noise_p)),
        (
            c.jpeg_p,
            100 - c.jpeg_min_quality,
            lambda: A.ImageCompression(quality_range=(c.jpeg_min_quality, 100), p=c.jpeg_p),
        ),
    ]
    return [make() for p, strength, make in candidates if p > 0 and strength > 0]


def build_augmentation(config: AugmentConfig | Mapping[str, Any] | None) -> Augmenter:
    """The training augmenter for a config object or the plain ``augment:`` parameter dict."""
    if not isinstance(config, AugmentConfig):
        config = AugmentConfig.from_dict(config)
    return Augmenter(config)
