"""What flows through a predict run: each :class:`Frame`, and the :class:`Plan` of one input."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Frame:
    """One image or video frame on its way through the pipeline. Boxes are in decoded pixels;
    ``scale`` is decoded / original size (< 1 when a huge image was downscaled)."""

    source: str  # the file (or camera) it came from
    frame: int  # frame number in a video; 0 for an image
    key: str  # --boxes key: relative path for images, frame number for video
    image: np.ndarray | None = None
    scale: float = 1.0
    error: str | None = None
    scores: list[float] = field(default_factory=list)
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    crop_boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    inputs: np.ndarray | None = None
    raw_angles: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    angles: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    face_ids: list[int] = field(default_factory=list)
    drawn: np.ndarray | None = None


@dataclass
class Plan:
    """An opened input: its frames and where its annotated outputs go."""

    kind: str  # "images" or "video"
    name: str
    source: Iterator[Frame]
    total: int | None
    fps: float | None = None
    outputs: dict[str, Path] = field(default_factory=dict)  # images: key -> annotated path
    video_out: Path | None = None
    expected_frames: int | None = None  # a video file: what its header promises
