"""The one owner of model-input preprocessing, shared by training, evaluation, export and inference."""

from __future__ import annotations

import io
import struct
import warnings
from pathlib import Path

import cv2
import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def resize_crop(image: np.ndarray, input_size: int) -> np.ndarray:
    if image.shape[0] == input_size and image.shape[1] == input_size:
        return image
    interpolation = cv2.INTER_AREA if image.shape[0] > input_size else cv2.INTER_LINEAR
    return cv2.resize(image, (input_size, input_size), interpolation=interpolation)


def normalize(image: np.ndarray) -> np.ndarray:
    """uint8 HxWx3 RGB -> float32 3xHxW, ImageNet mean/std."""
    return np.ascontiguousarray(((image.astype(np.float32) / 255.0 - MEAN) / STD).transpose(2, 0, 1))


def to_model_input(images: np.ndarray, input_size: int) -> np.ndarray:
    """uint8 (N, H, W, 3) RGB face crops -> float32 (N, 3, S, S) model input."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[None]
    return np.stack([normalize(resize_crop(im, input_size)) for im in images])


def header_pixel_count(source: str | Path | bytes) -> int | None:
    """Width x height of an image file (a path) or its bytes, from the header alone (no decoding),
    so a decompression bomb can be refused before it takes memory; None when it cannot tell."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(source, bytes):
        head, stream = source[:24], io.BytesIO(source)
    else:
        with open(source, "rb") as f:
            head = f.read(24)
        stream = source
    if head[:8] == PNG_SIGNATURE and head[12:16] == b"IHDR":  # PNG: the size is in the first chunk
        width, height = struct.unpack(">II", head[16:24])
        return width * height
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(stream) as im:
                return im.size[0] * im.size[1]
        except Image.DecompressionBombError:
            return 2 * Image.MAX_IMAGE_PIXELS + 1  # a lower bound: Pillow refuses to say more
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            return None
