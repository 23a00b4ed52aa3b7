"""Head pose of every face in an image, a folder of images, a video file or a camera.

Each input frame flows through :class:`~headpose.inference.pipeline.Pipeline`:
decode (source thread) -> detect -> crop (training-style crop + model input) -> infer (faces of
several frames batched into one model call) -> track (video: IoU tracker + One-Euro smoothing) ->
draw, and the calling thread writes JSON lines, annotated images or the annotated video as results
arrive, in input order. Boxes and crops follow :mod:`headpose.inference.detect`; axes are drawn by
:func:`headpose.visualize.draw_axes`.

Failures of single inputs (unreadable image, no face, image too large with ``on_large="refuse"``)
are written, one JSON object per line, to a failures file (``failures``, else
``<out_dir>/failures.jsonl``, else ``<jsonl stem>.failures.jsonl`` beside the JSON lines), the first
few are logged, and the run goes on; :func:`predict` raises HeadposeError only when nothing could be
processed. Its summary counts them and names the file. Outputs appear whole or not at all
(:func:`headpose.io.atomic_path`).
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import cv2
import numpy as np
from tqdm.auto import tqdm

from headpose.data.crops import crop_resize
from headpose.data.preprocess import header_pixel_count, to_model_input
from headpose.deploy.runtime import DEVICES, LoadedModel, load_predictor
from headpose.errors import ConfigError, DatasetError, HeadposeError
from headpose.inference.detect import BoxesDetector, CropMapping, FaceDetector, create_detector, load_boxes
from headpose.inference.pipeline import Pipeline, Stage
from headpose.inference.smoothing import FaceTracker, SmoothingConfig
from headpose.io import STDOUT, atomic_path, atomic_text, resolve_output
from headpose.visualize import draw_axes

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
ON_LARGE = ("downscale", "refuse")
LOGGED_FAILURES = 5  # failures logged as warnings; the failures file holds them all
DEFAULT_FPS = 25.0  # when a video or camera does not report its frame rate
_REDUCED_READS = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4),
                  (2, cv2.IMREAD_REDUCED_COLOR_2))


@dataclass(frozen=True)
class PredictConfig:
    """Knobs of a predict run. ``margin``/``box_scale``/``box_shift`` left None take the detector's
    own crop mapping (see :mod:`headpose.inference.detect`)."""

    detector: str = "blazeface"
    boxes: str | None = None              # JSON {file or frame: [[x0, y0, x1, y1], ...]}, not a detector
    margin: float | None = None
    box_scale: float | None = None
    box_shift: tuple[float, float] | None = None
    smooth: bool = True
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)
    iou_threshold: float = 0.3            # tracker: min IoU to continue a face's track
    max_missed: int = 10                  # tracker: frames a face may go undetected and keep its id
    max_pixels: int = 40_000_000          # larger images are downscaled or refused (on_large)
    on_large: str = "downscale"
    batch_size: int = 32                  # faces per model call at most
    detect_workers: int = 2               # frames detected in parallel (detection is the slowest stage)
    queue_size: int = 4                   # video frames per pipeline queue (images: 1, they can be huge)
    max_frames: int | None = None         # stop a video or camera after this many frames
    threads: int | None = 1               # ONNX Runtime / torch intra-op threads
    device: str = "auto"                  # cuda runs .pt checkpoints on the GPU (CUDA streams)
    fourcc: str = "mp4v"                  # codec of the annotated video

    def __post_init__(self) -> None:
        if self.on_large not in ON_LARGE:
            raise ConfigError(f"on_large must be one of {ON_LARGE}, got {self.on_large!r}")
        if self.device not in DEVICES:
            raise ConfigError(f"device must be one of {DEVICES}, got {self.device!r}")
        for name in ("max_pixels", "batch_size", "queue_size", "detect_workers"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if self.max_frames is not None and self.max_frames < 1:
            raise ConfigError(f"max_frames must be >= 1, got {self.max_frames!r}")
        if len(self.fourcc) != 4:
            raise ConfigError(f"fourcc must be 4 characters (e.g. mp4v), got {self.fourcc!r}")


@dataclass
class Frame:
    """One image or video frame on its way through the pipeline. Boxes are in decoded pixels;
    ``scale`` is decoded / original size (< 1 when a huge image was downscaled)."""

    source: str            # the file (or camera) it came from
    frame: int             # frame number in a video; 0 for an image
    key: str               # --boxes key: relative path for images, frame number for video
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


# ----------------------------------------------------------------------------------------- inputs

def read_image(path: str | Path, max_pixels: int, on_large: str = "downscale") -> tuple[np.ndarray, float]:
    """uint8 RGB image and its scale (decoded / original size). Images over ``max_pixels`` are
    decoded at reduced size (JPEG decodes 1/2, 1/4, 1/8 natively) and resized down to fit, or
    refused with ``on_large="refuse"``."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: image file not found")
    if path.stat().st_size == 0:
        raise DatasetError(f"{path}: empty file (0 bytes), not an image")
    pixels = header_pixel_count(path)
    reduction, flag = 1, cv2.IMREAD_COLOR
    if pixels is not None and pixels > max_pixels:
        if on_large == "refuse":
            raise DatasetError(f"{path}: {pixels:,} pixels is more than max_pixels={max_pixels:,}; "
                               "downscale the image, raise --max-pixels or use --on-large downscale")
        reduction, flag = next(((r, f) for r, f in _REDUCED_READS if pixels / r**2 >= max_pixels), (1, flag))
    try:
        bgr = cv2.imdecode(np.fromfile(path, np.uint8), flag)
    except cv2.error as exc:
        raise DatasetError(f"{path}: OpenCV could not decode the image ({exc.err})") from exc
    if bgr is None:
        raise DatasetError(f"{path}: unreadable image (not an image, corrupt, or a format OpenCV lacks)")
    h, w = bgr.shape[:2]
    if h * w > max_pixels:
        if on_large == "refuse":
            raise DatasetError(f"{path}: {h * w:,} pixels is more than max_pixels={max_pixels:,}")
        f = math.sqrt(max_pixels / (h * w))
        bgr = cv2.resize(bgr, (max(1, int(w * f)), max(1, int(h * f))), interpolation=cv2.INTER_AREA)
    scale = bgr.shape[1] / (w * reduction)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), scale


def list_images(folder: Path) -> list[Path]:
    """Image files under ``folder`` (recursively, sorted), by suffix."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


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


# ----------------------------------------------------------------------------------------- model
# load_predictor (imported above from headpose.deploy.runtime) turns a model reference into a predictor.


# ----------------------------------------------------------------------------------------- stages

class _Stages:
    """The per-frame work of one run (each method runs in its own pipeline thread).

    Detection may run on several frames at once (``detect_many`` on a thread pool); detectors need
    not be thread-safe (dlib's is not), so each pool thread gets its own from ``make_detector``.
    """

    def __init__(self, model: LoadedModel, make_detector: Callable[[], FaceDetector], mapping: CropMapping,
                 config: PredictConfig, fps: float | None, annotate: bool, pool: ThreadPoolExecutor) -> None:
        self.model, self.make_detector, self.mapping, self.config = model, make_detector, mapping, config
        self.fps, self.annotate, self.pool = fps, annotate, pool
        self._local = threading.local()
        smoothing = config.smoothing if config.smooth and fps else None
        self.tracker = FaceTracker(smoothing, config.iou_threshold, config.max_missed) if fps else None

    def detect_many(self, frames: list[Frame]) -> list[Frame]:
        return list(self.pool.map(self.detect, frames))

    def detect(self, frame: Frame) -> Frame:
        if frame.image is None:
            return frame
        detector = getattr(self._local, "detector", None)
        if detector is None:
            detector = self._local.detector = self.make_detector()
        key, factor = frame.key, 1.0
        if isinstance(detector, BoxesDetector):
            # Keys: path relative to the input folder (or file name), else the path as given; boxes are
            # in the original image's pixels, detectors see the decoded (maybe downscaled) image.
            key = frame.key if detector.has(frame.key) else frame.source
            factor = frame.scale
        detections = detector.detect(frame.image, key)
        frame.boxes = np.array([d.box for d in detections], np.float64).reshape(-1, 4) * factor
        frame.scores = [d.score for d in detections]
        return frame

    def crop(self, frame: Frame) -> Frame:
        if frame.image is None or not len(frame.boxes):
            return frame
        size = self.model.input_size
        frame.crop_boxes = np.stack([self.mapping.crop_box(box) for box in frame.boxes])
        try:
            crops = np.stack([crop_resize(frame.image, box, size) for box in frame.crop_boxes])
        except ValueError as exc:  # a user box outside the image
            frame.error = f"{frame.source} frame {frame.frame}: {exc}"
            frame.boxes, frame.crop_boxes, frame.scores = np.zeros((0, 4)), np.zeros((0, 4)), []
            return frame
        frame.inputs = to_model_input(crops, size)
        return frame

    def infer(self, frames: list[Frame]) -> list[Frame]:
        todo = [f for f in frames if f.inputs is not None]
        if todo:
            batch = np.concatenate([f.inputs for f in todo])
            step = self.config.batch_size
            angles = np.concatenate([self.model.predict(batch[i : i + step])
                                     for i in range(0, len(batch), step)])
            start = 0
            for f in todo:
                f.raw_angles = np.asarray(angles[start : start + len(f.inputs)], np.float64)
                f.angles, f.inputs = f.raw_angles, None
                start += len(f.raw_angles)
        return frames

    def track(self, frame: Frame) -> Frame:
        if self.tracker is None or frame.image is None:
            frame.face_ids = list(range(len(frame.boxes)))
            return frame
        frame.face_ids, frame.angles, frame.boxes = self.tracker.update(frame.frame / self.fps, frame.boxes,
                                                                        frame.raw_angles)
        return frame

    def draw(self, frame: Frame) -> Frame:
        if self.annotate and frame.image is not None:
            frame.drawn = annotate(frame.image, frame.boxes, frame.angles)
        frame.image = None  # the consumer needs only the drawing: keep queued frames small
        return frame


def annotate(image: np.ndarray, boxes: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """A copy of the RGB image with each face's box, head axes and yaw/pitch/roll caption."""
    out = np.ascontiguousarray(image).copy()
    thickness = max(1, round(max(out.shape[:2]) / 400))
    for (x0, y0, x1, y1), ypr in zip(boxes, angles, strict=True):
        yaw, pitch, roll = (float(v) for v in ypr)
        side = max(x1 - x0, y1 - y0)
        cv2.rectangle(out, (round(x0), round(y0)), (round(x1), round(y1)), (255, 255, 255), thickness)
        out = draw_axes(out, yaw, pitch, roll, center=((x0 + x1) / 2, (y0 + y1) / 2), size=0.6 * side,
                        thickness=thickness + 1)
        caption = f"y{round(yaw):+d} p{round(pitch):+d} r{round(roll):+d}"  # ints: no "-0"
        cv2.putText(out, caption, (round(x0), max(12, round(y0) - 4)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thickness, (255, 255, 0), thickness, cv2.LINE_AA)
    return out


# ----------------------------------------------------------------------------------------- outputs

class _VideoOut:
    """cv2.VideoWriter into the temporary path of atomic_path (it needs the real suffix to pick a
    container, so it writes ``<tmp><suffix>`` and moves it onto ``tmp`` when closed)."""

    def __init__(self, tmp: Path, target: Path, fps: float, fourcc: str) -> None:
        self.tmp, self.path, self.fps, self.fourcc = tmp, tmp.with_name(tmp.name + target.suffix), fps, fourcc
        self.target = target
        self.writer: cv2.VideoWriter | None = None

    def write(self, rgb: np.ndarray) -> None:
        if self.writer is None:
            h, w = rgb.shape[:2]
            codec = cv2.VideoWriter_fourcc(*self.fourcc)
            self.writer = cv2.VideoWriter(str(self.path), codec, self.fps, (w, h))
            if not self.writer.isOpened():
                self.writer = None
                raise HeadposeError(f"{self.target}: cannot write video with codec {self.fourcc!r}; "
                                    "try --fourcc MJPG with an .avi name")
        self.writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()
            os.replace(self.path, self.tmp)
        self.path.unlink(missing_ok=True)


def _write_image(path: Path, rgb: np.ndarray) -> None:
    ok, data = cv2.imencode(path.suffix, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise HeadposeError(f"{path}: OpenCV cannot encode {path.suffix} images")
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.tobytes())


def _json_lines(frame: Frame, detector: str, smoothed: bool) -> Iterator[str]:
    inv = 1.0 / frame.scale
    for k, face in enumerate(frame.face_ids):
        yaw, pitch, roll = (round(float(v), 3) for v in frame.angles[k])
        row: dict[str, Any] = {
            "file": frame.source, "frame": frame.frame, "face": int(face),
            "box": [round(float(v) * inv, 2) for v in frame.boxes[k]],
            "crop_box": [round(float(v) * inv, 2) for v in frame.crop_boxes[k]],
            "yaw": yaw, "pitch": pitch, "roll": roll,
            "confidence": round(float(frame.scores[k]), 4), "detector": detector,
        }
        if smoothed:
            row["raw"] = [round(float(v), 3) for v in frame.raw_angles[k]]
        yield json.dumps(row)


# ----------------------------------------------------------------------------------------- run

@dataclass
class _Plan:
    kind: str                                  # "images" or "video"
    name: str
    source: Iterator[Frame]
    total: int | None
    fps: float | None = None
    outputs: dict[str, Path] = field(default_factory=dict)   # images: key -> annotated path
    video_out: Path | None = None
    expected_frames: int | None = None         # a video file: what its header promises


def _plan(input_path: str | None, camera: int | None, out_dir: Path | None, config: PredictConfig) -> _Plan:
    if (input_path is None) == (camera is None):
        raise ConfigError("give exactly one of INPUT (image, folder or video) and --camera N")
    if camera is not None:
        capture = cv2.VideoCapture(camera)
        if not capture.isOpened():
            raise DatasetError(f"camera {camera} could not be opened (is it connected and free?)")
        fps = capture.get(cv2.CAP_PROP_FPS) or DEFAULT_FPS
        name = f"camera{camera}"
        return _Plan("video", name, _video_frames(capture, name, config.max_frames), config.max_frames, fps,
                     video_out=out_dir / f"{name}_pose.mp4" if out_dir else None)
    path = Path(input_path)
    if not path.exists():
        raise DatasetError(f"{path}: input not found")
    if path.is_dir():
        files = [(p, p.relative_to(path).as_posix()) for p in list_images(path)]
        if not files:
            raise DatasetError(f"{path}: folder holds no images ({', '.join(IMAGE_SUFFIXES)})")
    elif path.suffix.lower() in IMAGE_SUFFIXES:
        files = [(path, path.name)]
    elif path.suffix.lower() in VIDEO_SUFFIXES:
        capture = cv2.VideoCapture(str(path))
        if not capture.isOpened():
            raise DatasetError(f"{path}: unreadable video (OpenCV could not open it)")
        fps = capture.get(cv2.CAP_PROP_FPS) or DEFAULT_FPS
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None
        total = min(count, config.max_frames) if count and config.max_frames else (count or config.max_frames)
        return _Plan("video", str(path), _video_frames(capture, str(path), config.max_frames), total, fps,
                     video_out=out_dir / f"{path.stem}_pose{path.suffix.lower()}" if out_dir else None,
                     expected_frames=total)
    else:
        raise DatasetError(f"{path}: not an image ({', '.join(IMAGE_SUFFIXES)}) or video "
                           f"({', '.join(VIDEO_SUFFIXES)}) file")
    outputs = {}
    if out_dir is not None:
        for src, key in files:
            target = out_dir / key
            if target.resolve() == src.resolve():
                raise ConfigError(f"--out {out_dir} would overwrite the input {src}; choose another folder")
            outputs[key] = target
    return _Plan("images", str(path), _image_frames(files, config), len(files), outputs=outputs)


def _detector(config: PredictConfig) -> tuple[Callable[[], FaceDetector], str, CropMapping]:
    """A factory of detectors (one per detecting thread), their name, and the crop mapping."""
    if config.boxes:
        boxes = BoxesDetector(load_boxes(config.boxes))
        make = lambda: boxes  # noqa: E731 - read-only, shared by every thread
    else:
        make = lambda: create_detector(config.detector)  # noqa: E731
    detector = make()  # fails early on a bad boxes file or a missing detector package
    base = detector.mapping
    mapping = CropMapping(scale=base.scale if config.box_scale is None else config.box_scale,
                          shift=base.shift if config.box_shift is None else tuple(config.box_shift),
                          margin=base.margin if config.margin is None else config.margin)
    return make, detector.name, mapping


def failures_path(failures: str | Path | None, out_dir: Path | None, jsonl: str | Path | None) -> Path | None:
    """Where a run's failures go: ``failures``, else ``<out_dir>/failures.jsonl``, else
    ``<jsonl stem>.failures.jsonl`` beside the JSON lines; None when the run writes no files."""
    if failures is not None:
        return Path(failures)
    if out_dir is not None:
        return out_dir / "failures.jsonl"
    if jsonl is not None and str(jsonl) != STDOUT:  # JSON lines on stdout: failures only in the log
        jsonl = Path(jsonl)
        return jsonl.with_name(f"{jsonl.stem}.failures.jsonl")
    return None


class _Sink:
    """The consumer end: counts, per-file failures, JSON lines, annotated images or video.

    Files open in ``__enter__`` are written through atomic_path, so they appear only if the run
    ends without an exception.
    """

    def __init__(self, plan: _Plan, jsonl: str | Path | None, detector: str, smoothed: bool,
                 fourcc: str, failures: Path | None = None) -> None:
        self.plan, self.jsonl, self.detector, self.smoothed = plan, jsonl, detector, smoothed
        self.fourcc, self.failures_file = fourcc, failures
        self.counts = {"frames": 0, "faces": 0, "frames_with_faces": 0}
        self.failures: list[dict[str, Any]] = []
        self.images: list[str] = []
        self.busy_s = 0.0
        self._stack = ExitStack()
        self._lines: TextIO | None = None
        self._failure_lines: TextIO | None = None
        self._video: _VideoOut | None = None

    def __enter__(self) -> _Sink:
        stack, plan = self._stack.__enter__(), self.plan
        if self.jsonl is not None:
            self._lines = stack.enter_context(atomic_text(self.jsonl))
        if self.failures_file is not None:
            self._failure_lines = stack.enter_context(atomic_text(self.failures_file))
        if plan.video_out is not None:
            tmp = stack.enter_context(atomic_path(plan.video_out))
            self._video = _VideoOut(tmp, plan.video_out, plan.fps, self.fourcc)
            stack.callback(self._video.close)
        return self

    def __exit__(self, *exc_info) -> bool:
        return self._stack.__exit__(*exc_info)

    def fail(self, failure: dict[str, Any]) -> None:
        self.failures.append(failure)
        if len(self.failures) <= LOGGED_FAILURES:
            log.warning(failure["error"])
        if self._failure_lines is not None:
            self._failure_lines.write(json.dumps(failure) + "\n")

    def write(self, frame: Frame) -> None:
        start = time.perf_counter()
        self.counts["frames"] += 1
        self.counts["faces"] += len(frame.face_ids)
        self.counts["frames_with_faces"] += bool(frame.face_ids)
        if frame.error is None and self.plan.kind == "images" and not frame.face_ids:
            hint = "" if self.detector == "boxes" else "; try --boxes or another --detector"
            frame.error = f"{frame.source}: no face found by the {self.detector} detector{hint}"
        if frame.error is not None:
            self.fail({"file": frame.source, "frame": frame.frame, "error": frame.error})
        if self._lines is not None:
            self._lines.writelines(line + "\n" for line in _json_lines(frame, self.detector, self.smoothed))
        if frame.drawn is not None and self._video is not None:
            self._video.write(frame.drawn)
        elif frame.drawn is not None and frame.face_ids:
            _write_image(self.plan.outputs[frame.key], frame.drawn)
            self.images.append(str(self.plan.outputs[frame.key]))
        self.busy_s += time.perf_counter() - start

    def check(self) -> None:
        """Raise when nothing succeeded (before the outputs are committed)."""
        plan, counts = self.plan, self.counts
        if plan.kind == "video" and counts["frames"] == 0:
            raise DatasetError(f"{plan.name}: no frames could be decoded (empty or unsupported video)")
        if plan.expected_frames and counts["frames"] < plan.expected_frames:  # frames that never came
            self.fail({"file": plan.name, "frame": counts["frames"],
                       "error": f"{plan.name}: decoded {counts['frames']} of the {plan.expected_frames} frames "
                                "its header promises; the video is truncated or corrupt"})
        if plan.kind == "video" and counts["faces"] == 0:
            raise DatasetError(f"{plan.name}: no face found in any of its {counts['frames']} frames by the "
                               f"{self.detector} detector; try --boxes")
        if plan.kind == "images" and len(self.failures) == counts["frames"]:
            details = "; ".join(f["error"] for f in self.failures[:3])
            details += f" (and {len(self.failures) - 3} more)" if len(self.failures) > 3 else ""
            raise DatasetError(f"all {counts['frames']} images failed: {details}")


def predict(input_path: str | None, model: str, out_dir: str | Path | None = None,
            jsonl: str | Path | None = None, camera: int | None = None, config: PredictConfig | None = None,
            progress: bool = True, failures: str | Path | None = None) -> dict[str, Any]:
    """Run the model on every face of the input; returns a summary (counts, failures, timings).

    ``out_dir`` receives annotated images (same relative paths) or ``<video stem>_pose<suffix>``;
    ``jsonl`` one JSON object per face per frame; the failures file (see the module docstring)
    one JSON object per failed input. Raises HeadposeError when no input succeeds.
    """
    config = config or PredictConfig()
    out_dir = resolve_output(out_dir, directory=True) if out_dir is not None else None
    if jsonl is not None and str(jsonl) != STDOUT:
        resolve_output(jsonl)  # refuses a folder or a device before any work
    make_detector, detector, mapping = _detector(config)
    plan = _plan(input_path, camera, out_dir, config)
    failures_file = failures_path(failures, out_dir, jsonl)
    start = time.perf_counter()
    loaded = load_predictor(model, config.threads, config.device)
    load_s = time.perf_counter() - start
    pool = ThreadPoolExecutor(config.detect_workers, thread_name_prefix="pipeline-detect")
    stages = _Stages(loaded, make_detector, mapping, config, plan.fps, out_dir is not None, pool)
    smoothed = stages.tracker is not None and stages.tracker.smoothing is not None
    pipeline = Pipeline(plan.source, [
        Stage("detect", stages.detect_many, batch=config.detect_workers), Stage("crop", stages.crop),
        Stage("infer", stages.infer, batch=config.batch_size),
        Stage("track", stages.track), Stage("draw", stages.draw),
    ], maxsize=config.queue_size if plan.kind == "video" else 1)  # ~7 x (maxsize + 1) frames in flight

    interrupted = False
    start = time.perf_counter()
    with pool, _Sink(plan, jsonl, detector, smoothed, config.fourcc, failures_file) as sink:
        with tqdm(total=plan.total, desc="predict", unit="frame", disable=not progress) as bar:
            try:
                with pipeline as results:
                    for frame in results:
                        sink.write(frame)
                        bar.update()
            except KeyboardInterrupt:
                if camera is None:
                    raise HeadposeError(
                        f"interrupted after {sink.counts['frames']} frames; the JSON lines and the annotated "
                        "video were not written (annotated images written so far are complete)") from None
                interrupted = True  # Ctrl-C is how a camera run ends: keep what was recorded
        wall_s = time.perf_counter() - start
        sink.check()
    if len(sink.failures) > LOGGED_FAILURES:
        log.warning("%d more failures%s", len(sink.failures) - LOGGED_FAILURES,
                    f" in {failures_file}" if failures_file else "")
    stage_s = {name: round(stats.busy_s, 3) for name, stats in pipeline.stats.items()}
    annotated = [str(plan.video_out)] if plan.video_out is not None else sink.images
    return {
        "input": plan.name, "kind": plan.kind, "model": str(loaded.path), "backend": loaded.backend,
        "input_size": loaded.input_size, "detector": detector,
        "crop_mapping": {"scale": mapping.scale, "shift": list(mapping.shift), "margin": mapping.margin},
        "smoothing": smoothed, **sink.counts,
        "failures": len(sink.failures), "failures_file": str(failures_file) if failures_file else None,
        "failure_examples": [f["error"] for f in sink.failures[:3]],
        "jsonl": str(jsonl) if jsonl is not None else None,
        "out": str(out_dir) if out_dir is not None else None, "annotated": len(annotated),
        "annotated_files": annotated[:20],
        "interrupted": interrupted, "model_load_s": round(load_s, 3), "wall_s": round(wall_s, 3),
        "fps": round(sink.counts["frames"] / wall_s, 2) if wall_s > 0 else None,
        "stage_busy_s": {**stage_s, "write": round(sink.busy_s, 3)},
    }


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """The human-readable end-of-run summary of :func:`predict`'s result."""
    video = summary["kind"] == "video"
    unit = "frame" if video else "image"
    failures = summary["failures"]
    where = f" (see {summary['failures_file']})" if failures and summary["failures_file"] else ""
    if failures and not summary["failures_file"]:
        where = f" (first: {summary['failure_examples'][0]}; pass --failures FILE to keep them all)"
    lines = [f"{_count(summary['frames'], unit)} from {summary['input']}: {_count(summary['faces'], 'face')} in "
             f"{_count(summary['frames_with_faces'], unit)}, {_count(failures, 'failure')}{where}"
             + (" (interrupted)" if summary["interrupted"] else "")]
    lines.append(f"model {summary['model']} ({summary['backend']}, {summary['input_size']} px), "
                 f"detector {summary['detector']}" + (", smoothed" if summary["smoothing"] else ""))
    fps = summary["fps"]
    lines.append(f"{fps if fps is not None else '-'} {unit}s/s ({summary['wall_s']:.2f} s, model load "
                 f"{summary['model_load_s']:.2f} s)")
    outputs = []
    if summary["out"] is not None:
        outputs.append(f"annotated video {summary['annotated_files'][0]}" if video and summary["annotated"]
                       else f"{_count(summary['annotated'], 'annotated image')} in {summary['out']}")
    if summary["jsonl"] is not None:
        outputs.append(f"faces in {summary['jsonl']}")
    lines.append("outputs: " + (", ".join(outputs) if outputs else "none (pass --out and/or --json)"))
    return lines
