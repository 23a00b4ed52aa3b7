"""Where a predict run's results go: JSON lines, annotated images or the annotated video, and the
failures file (one JSON object per input that failed).

Files are written through :func:`headpose.io.atomic_path`: they appear whole when the run ends
without an exception, or not at all.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TextIO

import cv2
import numpy as np

from headpose.errors import HeadposeError, InputError
from headpose.inference.frames import Frame, Plan
from headpose.io import STDOUT, atomic_path, atomic_text

log = logging.getLogger(__name__)

LOGGED_FAILURES = 5  # failures logged as warnings; the failures file holds them all


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


class Sink:
    """The consumer end of a run: counts, per-input failures, JSON lines, annotated images or video.

    Files open in ``__enter__`` are written through atomic_path, so they appear only if the run
    ends without an exception.
    """

    def __init__(
        self,
        plan: Plan,
        jsonl: str | Path | None,
        detector: str,
        smoothed: bool,
        fourcc: str,
        failures: Path | None = None,
    ) -> None:
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

    def __enter__(self) -> Sink:
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
            raise InputError(f"{plan.name}: no frames could be decoded (empty or unsupported video)")
        if plan.expected_frames and counts["frames"] < plan.expected_frames:  # frames that never came
            self.fail(
                {
                    "file": plan.name,
                    "frame": counts["frames"],
                    "error": f"{plan.name}: decoded {counts['frames']} of the {plan.expected_frames} frames "
                    "its header promises; the video is truncated or corrupt",
                }
            )
        if plan.kind == "video" and counts["faces"] == 0:
            raise InputError(
                f"{plan.name}: no face found in any of its {counts['frames']} frames by the "
                f"{self.detector} detector; try --boxes"
            )
        if plan.kind == "images" and len(self.failures) == counts["frames"]:
            details = "; ".join(f["error"] for f in self.failures[:3])
            details += f" (and {len(self.failures) - 3} more)" if len(self.failures) > 3 else ""
            raise InputError(f"all {counts['frames']} images failed: {details}")

    def log_unlogged_failures(self) -> None:
        """One warning for the failures beyond the first few (those were logged one by one)."""
        if len(self.failures) > LOGGED_FAILURES:
            log.warning(
                "%d more failures%s",
                len(self.failures) - LOGGED_FAILURES,
                f" in {self.failures_file}" if self.failures_file else "",
            )

    def report(self) -> dict[str, Any]:
        """Counts, failures and outputs, for the run's summary."""
        annotated = [str(self.plan.video_out)] if self.plan.video_out is not None else self.images
        return {
            **self.counts,
            "failures": len(self.failures),
            "failures_file": str(self.failures_file) if self.failures_file else None,
            "failure_examples": [f["error"] for f in self.failures[:3]],
            "jsonl": str(self.jsonl) if self.jsonl is not None else None,
            "annotated": len(annotated),
            "annotated_files": annotated[:20],
        }


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
                raise HeadposeError(
                    f"{self.target}: cannot write video with codec {self.fourcc!r}; "
                    "try --fourcc MJPG with an .avi name"
                )
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
            "file": frame.source,
            "frame": frame.frame,
            "face": int(face),
            "box": [round(float(v) * inv, 2) for v in frame.boxes[k]],
            "crop_box": [round(float(v) * inv, 2) for v in frame.crop_boxes[k]],
            "yaw": yaw,
            "pitch": pitch,
            "roll": roll,
            "confidence": round(float(frame.scores[k]), 4),
            "detector": detector,
        }
        if smoothed:
            row["raw"] = [round(float(v), 3) for v in frame.raw_angles[k]]
        yield json.dumps(row)
