"""Where a predict run's frames come from: an image file, a folder of images, a video file or a camera.

:func:`open_input` turns what the user named into a :class:`~headpose.inference.frames.Plan` whose
``source`` decodes frames lazily (in the pipeline's source thread). An image that cannot be read
becomes a frame with an ``error`` and the run goes on; an input that cannot be opened at all raises
InputError.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from headpose.data.preprocess import header_pixel_count
from headpose.errors import ConfigError, HeadposeError, InputError
from headpose.inference.config import PredictConfig
from headpose.inference.frames import Frame, Plan

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
DEFAULT_FPS = 25.0  # when a video or camera does not report its frame rate
_REDUCED_READS = (
    (8, cv2.IMREAD_REDUCED_COLOR_8),
    (4, cv2.IMREAD_REDUCED_COLOR_4),
    (2, cv2.IMREAD_REDUCED_COLOR_2),
)


def read_image(path: str | Path, max_pixels: int, on_large: str = "downscale") -> tuple[np.ndarray, float]:
    """uint8 RGB image and its scale (decoded / original size). Images over ``max_pixels`` are
    decoded at reduced size (JPEG decodes 1/2, 1/4, 1/8 natively) and resized down to fit, or
    refused with ``on_large="refuse"``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: image file not found")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file (0 bytes), not an image")
    pixels = header_pixel_count(path)
    reduction, flag = 1, cv2.IMREAD_COLOR
    if pixels is not None and pixels > max_pixels:
        if on_large == "refuse":
            raise InputError(
                f"{path}: {pixels:,} pixels is more than max_pixels={max_pixels:,}; "
                "downscale the image, raise --max-pixels or use --on-large downscale"
            )
        reduction, flag = next(((r, f) for r, f in _REDUCED_READS if pixels / r**2 >= max_pixels), (1, flag))
    try:
        bgr = cv2.imdecode(np.fromfile(path, np.uint8), flag)
    except cv2.error as exc:
        raise InputError(f"{path}: OpenCV could not decode the image ({exc.err})") from exc
    if bgr is None:
        raise InputError(f"{path}: unreadable image (not an image, corrupt, or a format OpenCV lacks)")
    h, w = bgr.shape[:2]
    if h * w > max_pixels:
        if on_large == "refuse":
            raise InputError(f"{path}: {h * w:,} pixels is more than max_pixels={max_pixels:,}")
        f = math.sqrt(max_pixels / (h * w))
        bgr = cv2.resize(bgr, (max(1, int(w * f)), max(1, int(h * f))), interpolation=cv2.INTER_AREA)
    scale = bgr.shape[1] / (w * reduction)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), scale


def list_images(folder: Path) -> list[Path]:
    """Image files under ``folder`` (recursively, sorted), by suffix."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def image_files(path: Path, otherwise: str = "a folder of images") -> list[tuple[Path, str]]:
    """The images an input names, each with its key: a folder's, recursively, keyed by relative path,
    or the one image, keyed by its name. InputError when there are none; ``otherwise`` says what else
    the input could have been."""
    if not path.exists():
        raise InputError(f"{path}: input not found")
    if path.is_dir():
        files = [(p, p.relative_to(path).as_posix()) for p in list_images(path)]
        if not files:
            raise InputError(f"{path}: folder holds no images ({', '.join(IMAGE_SUFFIXES)})")
        return files
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return [(path, path.name)]
    raise InputError(f"{path}: not an image ({', '.join(IMAGE_SUFFIXES)}) or {otherwise}")


def open_input(
    input_path: str | None, camera: int | None, out_dir: Path | None, config: PredictConfig
) -> Plan:
    """The plan of an image, a folder of images, a video file or camera ``camera`` (exactly one)."""
    if (input_path is None) == (camera is None):
        raise ConfigError("give exactly one of INPUT (image, folder or video) and --camera N")
    if camera is not None:
        return _camera_plan(camera, out_dir, config.max_frames)
    path = Path(input_path)
    if path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES:
        return _video_plan(path, out_dir, config.max_frames)
    files = image_files(path, otherwise=f"video ({', '.join(VIDEO_SUFFIXES)}) file")
    return Plan(
        "images", str(path), _image_frames(files, config), len(files), outputs=_image_outputs(files, out_dir)
    )


def _camera_plan(camera: int, out_dir: Path | None, max_frames: int | None) -> Plan:
    capture = cv2.VideoCapture(camera)
    if not capture.isOpened():
        raise InputError(f"camera {camera} could not be opened (is it connected and free?)")
    fps = capture.get(cv2.CAP_PROP_FPS) or DEFAULT_FPS
    name = f"camera{camera}"
    return Plan(
        "video",
        name,
        _video_frames(capture, name, max_frames),
        max_frames,
        fps,
        video_out=out_dir / f"{name}_pose.mp4" if out_dir else None,
    )


def _video_plan(path: Path, out_dir: Path | None, max_frames: int | None) -> Plan:
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise InputError(f"{path}: unreadable video (OpenCV could not open it)")
    fps = capture.get(cv2.CAP_PROP_FPS) or DEFAULT_FPS
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    total = min(count, max_frames) if count and max_frames else (count or max_frames)
    return Plan(
        "video",
        str(path),
        _video_frames(capture, str(path), max_frames),
        total,
        fps,
        video_out=out_dir / f"{path.stem}_pose{path.suffix.lower()}" if out_dir else None,
        expected_frames=total,
    )


def _image_outputs(files: list[tuple[Path, str]], out_dir: Path | None) -> dict[str, Path]:
    """Annotated image of each key, at the same relative path under ``out_dir``; never over an input."""
    outputs = {}
    if out_dir is not None:
        for src, key in files:
            target = out_dir / key
            if target.resolve() == src.resolve():
                raise ConfigError(f"--out {out_dir} would overwrite the input {src}; choose another folder")
            outputs[key] = target
    return outputs


def _image_frames(files: list[tuple[Path, str]], config: PredictConfig) -> Iterator[Frame]:
    for path, key in files:
        frame = Frame(str(path), 0, key)
        try:
            frame.image, frame.scale = read_image(path, config.max_pixels, config.on_large)
        except HeadposeError as exc:
            frame.error = str(exc)
        yield frame


def _video_frames(capture: cv2.VideoCapture, name: str, max_frames: int | None) -> Iterator[Frame]:
    try:
        index = 0
        while max_frames is None or index < max_frames:
            ok, bgr = capture.read()
            if not ok:
                return
            yield Frame(name, index, str(index), cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            index += 1
    finally:
        capture.release()
