"""The knobs of a ``headpose predict`` run: one typed block, checked when it is built."""

from __future__ import annotations

from dataclasses import dataclass, field

from headpose.config import Config, knob
from headpose.deploy.runtime import DEVICES
from headpose.inference.detect import DETECTORS
from headpose.inference.smoothing import SmoothingConfig

ON_LARGE = ("downscale", "refuse")


@dataclass(frozen=True)
class PredictConfig(Config, section="predict"):
    """Knobs of a predict run. ``margin``/``box_scale``/``box_shift`` left None take the detector's
    own crop mapping (see :mod:`headpose.inference.detection`)."""

    detector: str = knob("blazeface", choices=tuple(DETECTORS))
    boxes: str | None = None  # JSON {file or frame: [[x0, y0, x1, y1], ...]}, not a detector
    margin: float | None = knob(None, lo=0.0)
    box_scale: float | None = knob(None, lo=0.0)
    box_shift: tuple[float, float] | None = None
    smooth: bool = True
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)
    iou_threshold: float = knob(0.3, lo=0.0, hi=1.0)  # tracker: min IoU to continue a face's track
    max_missed: int = knob(10, lo=0)  # tracker: frames a face may go undetected and keep its id
    max_pixels: int = knob(40_000_000, lo=1)  # larger images are downscaled or refused (on_large)
    on_large: str = knob("downscale", choices=ON_LARGE)
    batch_size: int = knob(32, lo=1)  # faces per model call at most
    detect_workers: int = knob(2, lo=1)  # frames detected in parallel (detection is the slowest stage)
    queue_size: int = knob(4, lo=1)  # video frames per pipeline queue (images: 1, they can be huge)
    max_frames: int | None = knob(None, lo=1)  # stop a video or camera after this many frames
    threads: int | None = knob(1, lo=0)  # ONNX Runtime / torch intra-op threads (0 or None: their default)
    device: str = knob("auto", choices=DEVICES)  # cuda runs .pt checkpoints on the GPU (CUDA streams)
    fourcc: str = "mp4v"  # codec of the annotated video

    def check(self) -> None:
        if len(self.fourcc) != 4:
            raise self.problem("fourcc", f"expected 4 characters (e.g. mp4v), got {self.fourcc!r}")
