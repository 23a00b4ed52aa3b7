"""Head pose of every face in an image, a folder of images, a video file or a camera.

Each input frame flows through :class:`~headpose.inference.pipeline.FramePipeline`:
decode (source thread, :mod:`~headpose.inference.sources`) -> detect -> crop (training-style crop +
model input) -> infer (faces of several frames batched into one model call) -> track (video: IoU
tracker + One-Euro smoothing) -> draw, and the calling thread writes JSON lines, annotated images or
the annotated video as results arrive, in input order (:mod:`~headpose.inference.sinks`). Boxes and
crops follow :mod:`headpose.inference.detection`; faces are drawn by :func:`headpose.visualize.annotate`.

Failures of single inputs (unreadable image, no face, image too large with ``on_large="refuse"``)
are written, one JSON object per line, to a failures file (``failures``, else
``<out_dir>/failures.jsonl``, else ``<jsonl stem>.failures.jsonl`` beside the JSON lines), the first
few are logged, and the run goes on; :func:`predict` raises HeadposeError only when nothing could be
processed. Its summary counts them and names the file. Outputs appear whole or not at all
(:func:`headpose.io.atomic_path`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from headpose.data.crops import crop_resize
from headpose.data.preprocess import to_model_input
from headpose.deploy.runtime import LoadedModel, load_predictor
from headpose.errors import HeadposeError
from headpose.inference.config import PredictConfig
from headpose.inference.detect import BoxesDetector, create_detector, load_boxes
from headpose.inference.detection import CropMapping, FaceDetector
from headpose.inference.frames import Frame, Plan
from headpose.inference.pipeline import FramePipeline, Stage
from headpose.inference.sinks import Sink, failures_path
from headpose.inference.smoothing import FaceTracker
from headpose.inference.sources import open_input
from headpose.io import STDOUT, resolve_output
from headpose.visualize import annotate


class _Stages:
    """The per-frame work of one run (each method runs in its own pipeline thread).

    Detection may run on several frames at once (``detect_many`` on a thread pool); detectors need
    not be thread-safe (dlib's is not), so each pool thread gets its own from ``make_detector``.
    """

    def __init__(
        self,
        model: LoadedModel,
        make_detector: Callable[[], FaceDetector],
        mapping: CropMapping,
        config: PredictConfig,
        fps: float | None,
        drawing: bool,
        pool: ThreadPoolExecutor,
    ) -> None:
        self.model, self.make_detector, self.mapping, self.config = model, make_detector, mapping, config
        self.fps, self.drawing, self.pool = fps, drawing, pool
        self._local = threading.local()
        smoothing = config.smoothing if config.smooth and fps else None
        self.tracker = FaceTracker(smoothing, config.iou_threshold, config.max_missed) if fps else None

    @property
    def smoothed(self) -> bool:
        return self.tracker is not None and self.tracker.smoothing is not None

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
            angles = np.concatenate(
                [self.model.predict(batch[i : i + step]) for i in range(0, len(batch), step)]
            )
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
        frame.face_ids, frame.angles, frame.boxes = self.tracker.update(
            frame.frame / self.fps, frame.boxes, frame.raw_angles
        )
        return frame

    def draw(self, frame: Frame) -> Frame:
        if self.drawing and frame.image is not None:
            frame.drawn = annotate(frame.image, frame.boxes, frame.angles)
        frame.image = None  # the consumer needs only the drawing: keep queued frames small
        return frame

    def pipeline(self, plan: Plan) -> FramePipeline:
        stages = [
            Stage("detect", self.detect_many, batch=self.config.detect_workers),
            Stage("crop", self.crop),
            Stage("infer", self.infer, batch=self.config.batch_size),
            Stage("track", self.track),
            Stage("draw", self.draw),
        ]
        # ~7 x (maxsize + 1) frames in flight; images can be huge, so they go one at a time
        return FramePipeline(
            plan.source, stages, maxsize=self.config.queue_size if plan.kind == "video" else 1
        )


def _detectors(config: PredictConfig) -> tuple[Callable[[], FaceDetector], str, CropMapping]:
    """A factory of detectors (one per detecting thread), their name, and the crop mapping."""
    if config.boxes:
        boxes = BoxesDetector(load_boxes(config.boxes))
        make = lambda: boxes  # noqa: E731 - read-only, shared by every thread
    else:
        make = lambda: create_detector(config.detector)  # noqa: E731
    detector = make()  # fails early on a bad boxes file or a missing detector package
    base = detector.mapping
    mapping = CropMapping(
        scale=base.scale if config.box_scale is None else config.box_scale,
        shift=base.shift if config.box_shift is None else config.box_shift,
        margin=base.margin if config.margin is None else config.margin,
    )
    return make, detector.name, mapping


def predict(
    input_path: str | None,
    model: str,
    out_dir: str | Path | None = None,
    jsonl: str | Path | None = None,
    camera: int | None = None,
    config: PredictConfig | None = None,
    progress: bool = True,
    failures: str | Path | None = None,
) -> dict[str, Any]:
    """Run the model on every face of the input; returns a summary (counts, failures, timings).

    ``out_dir`` receives annotated images (same relative paths) or ``<video stem>_pose<suffix>``;
    ``jsonl`` one JSON object per face per frame; the failures file (see the module docstring)
    one JSON object per failed input. Raises HeadposeError when no input succeeds.
    """
    config = config or PredictConfig()
    out_dir = resolve_output(out_dir, directory=True) if out_dir is not None else None
    if jsonl is not None and str(jsonl) != STDOUT:
        resolve_output(jsonl)  # refuses a folder or a device before any work
    make_detector, detector, mapping = _detectors(config)
    plan = open_input(input_path, camera, out_dir, config)
    failures_file = failures_path(failures, out_dir, jsonl)
    start = time.perf_counter()
    loaded = load_predictor(model, config.threads, config.device)
    load_s = time.perf_counter() - start
    with ThreadPoolExecutor(config.detect_workers, thread_name_prefix="pipeline-detect") as pool:
        stages = _Stages(loaded, make_detector, mapping, config, plan.fps, out_dir is not None, pool)
        pipeline = stages.pipeline(plan)
        with Sink(plan, jsonl, detector, stages.smoothed, config.fourcc, failures_file) as sink:
            start = time.perf_counter()
            interrupted = _consume(pipeline, sink, plan.total, camera is not None, progress)
            wall_s = time.perf_counter() - start
            sink.check()
    sink.log_unlogged_failures()
    stage_s = {name: round(stats.busy_s, 3) for name, stats in pipeline.stats.items()}
    return {
        "input": plan.name,
        "kind": plan.kind,
        "model": str(loaded.path),
        "backend": loaded.backend,
        "input_size": loaded.input_size,
        "detector": detector,
        "crop_mapping": {"scale": mapping.scale, "shift": list(mapping.shift), "margin": mapping.margin},
        "smoothing": stages.smoothed,
        **sink.report(),
        "out": str(out_dir) if out_dir is not None else None,
        "interrupted": interrupted,
        "model_load_s": round(load_s, 3),
        "wall_s": round(wall_s, 3),
        "fps": round(sink.counts["frames"] / wall_s, 2) if wall_s > 0 else None,
        "stage_busy_s": {**stage_s, "write": round(sink.busy_s, 3)},
    }


def _consume(pipeline: FramePipeline, sink: Sink, total: int | None, camera: bool, progress: bool) -> bool:
    """Write every result as it arrives; True when a camera run was ended by Ctrl-C."""
    with tqdm(total=total, desc="predict", unit="frame", disable=not progress) as bar:
        try:
            with pipeline as results:
                for frame in results:
                    sink.write(frame)
                    bar.update()
        except KeyboardInterrupt:
            if not camera:
                raise HeadposeError(
                    f"interrupted after {sink.counts['frames']} frames; the JSON lines and the annotated "
                    "video were not written (annotated images written so far are complete)"
                ) from None
            return True  # Ctrl-C is how a camera run ends: keep what was recorded
    return False


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
    lines = [
        f"{_count(summary['frames'], unit)} from {summary['input']}: {_count(summary['faces'], 'face')} in "
        f"{_count(summary['frames_with_faces'], unit)}, {_count(failures, 'failure')}{where}"
        + (" (interrupted)" if summary["interrupted"] else "")
    ]
    lines.append(
        f"model {summary['model']} ({summary['backend']}, {summary['input_size']} px), "
        f"detector {summary['detector']}" + (", smoothed" if summary["smoothing"] else "")
    )
    fps = summary["fps"]
    lines.append(
        f"{fps if fps is not None else '-'} {unit}s/s ({summary['wall_s']:.2f} s, model load "
        f"{summary['model_load_s']:.2f} s)"
    )
    outputs = []
    if summary["out"] is not None:
        outputs.append(
            f"annotated video {summary['annotated_files'][0]}"
            if video and summary["annotated"]
            else f"{_count(summary['annotated'], 'annotated image')} in {summary['out']}"
        )
    if summary["jsonl"] is not None:
        outputs.append(f"faces in {summary['jsonl']}")
    lines.append("outputs: " + (", ".join(outputs) if outputs else "none (pass --out and/or --json)"))
    return lines
