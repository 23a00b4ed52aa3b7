"""The Python API: head pose of every face in an RGB image, in a few lines.

    from headpose import HeadPose

    hp = HeadPose()                       # the packaged model; or "student.onnx", "models:/headpose@champion"
    for face in hp.predict(image_rgb):    # uint8 (H, W, 3) RGB, e.g. cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        print(face.box, face.yaw, face.pitch, face.roll, face.confidence)
    angles = hp.predict_crops(crops)      # uint8 (N, H, W, 3) training-style face crops -> (N, 3) degrees

Faces are found by BlazeFace and cropped as in training through the detector's crop mapping
(:mod:`headpose.inference.detection`), exactly as ``headpose predict`` does. Angles are degrees,
(yaw, pitch, roll), in the convention of :mod:`headpose.angles`. A HeadPose object holds one
detector and one model session: use one per thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from headpose.errors import ConfigError
from headpose.teacher import TEACHER

BATCH_SIZE = 64


@dataclass(frozen=True)
class Face:
    """One face: the detector's ``box`` (x0, y0, x1, y1) in image pixels, the head pose in degrees,
    the detector's ``confidence`` in [0, 1], and the ``crop_box`` the model saw."""

    box: tuple[float, float, float, float]
    yaw: float
    pitch: float
    roll: float
    confidence: float
    crop_box: tuple[float, float, float, float]

    @property
    def angles(self) -> tuple[float, float, float]:
        return self.yaw, self.pitch, self.roll


class HeadPose:
    """A head-pose model and a face detector.

    ``model``: ``"pretrained"`` (the model shipped in the package), a ``.onnx`` / ``.pt`` / ``.engine``
    file, or a registry URI such as ``models:/headpose@champion`` (the project's MLflow config).
    ``detector``: ``"blazeface"`` (default, any pose), ``"dlib"`` (near-frontal) or ``"whole"`` (the
    image is the face). ``device="cuda"`` runs ``.pt`` checkpoints on the GPU.
    """

    def __init__(
        self,
        model: str | Path = "pretrained",
        detector: str = "blazeface",
        threads: int | None = 1,
        device: str = "cpu",
        min_score: float = 0.5,
    ) -> None:
        from headpose.deploy.runtime import load_predictor
        from headpose.inference.detect import create_detector

        if str(model) == TEACHER:
            raise ConfigError(
                "HeadPose('mediapipe'): the MediaPipe teacher is not a headpose model; use "
                "headpose.teacher.teacher.MediaPipeTeacher"
            )
        self.model = load_predictor(str(model), threads, device)
        kwargs: dict[str, Any] = (
            {"min_score": min_score, "threads": threads or 1} if detector == "blazeface" else {}
        )
        self.detector = create_detector(detector, **kwargs)
        self.mapping = self.detector.mapping

    @property
    def input_size(self) -> int:
        return self.model.input_size

    @property
    def path(self) -> Path:
        return self.model.path

    def __repr__(self) -> str:
        return (
            f"HeadPose(model={str(self.model.path)!r}, backend={self.model.backend!r}, "
            f"input_size={self.input_size}, detector={self.detector.name!r})"
        )

    def predict(self, image: np.ndarray, boxes: Any = None, max_faces: int | None = None) -> list[Face]:
        """Every face in a uint8 RGB (H, W, 3) or grayscale (H, W) image, highest confidence first.

        ``boxes`` (K, 4) from your own detector, in image pixels and read as boxes around the face's
        landmarks (as ``headpose predict --boxes``), replace the detector.
        """
        from headpose.data.crops import crop_resize
        from headpose.inference.detection import CropMapping, Detection

        image = _as_rgb(image, "HeadPose.predict")
        if boxes is None:
            detections = self.detector.detect(image, "")
            mapping = self.mapping
        else:
            array = np.asarray(boxes, np.float64).reshape(-1, 4)
            if not np.isfinite(array).all() or (array[:, 2:] <= array[:, :2]).any():
                raise ConfigError(
                    f"HeadPose.predict: boxes must be finite [x0, y0, x1, y1] with x1 > x0 and "
                    f"y1 > y0, got {array.tolist()}"
                )
            detections = [Detection(tuple(float(v) for v in b), 1.0) for b in array]
            mapping = CropMapping()
        detections = sorted(detections, key=lambda d: -d.score)[:max_faces]
        if not detections:
            return []
        crop_boxes = [mapping.crop_box(d.box) for d in detections]
        crops = np.stack([crop_resize(image, box, self.input_size) for box in crop_boxes])
        angles = self.predict_crops(crops)
        return [
            Face(
                tuple(float(v) for v in d.box),
                float(a[0]),
                float(a[1]),
                float(a[2]),
                float(d.score),
                tuple(float(v) for v in c),
            )
            for d, a, c in zip(detections, angles, crop_boxes, strict=True)
        ]

    def predict_crops(self, crops: np.ndarray) -> np.ndarray:
        """(N, 3) yaw, pitch, roll in degrees for uint8 (N, H, W, 3) RGB face crops (or one (H, W, 3)
        crop), cut as training crops are (:func:`headpose.data.crops.box_from_landmarks`); any size,
        resized to the model's input."""
        from headpose.data.preprocess import to_model_input

        crops = np.asarray(crops)
        if crops.ndim == 3:
            crops = crops[None]
        if crops.ndim != 4 or crops.shape[-1] != 3 or crops.dtype != np.uint8:
            raise ConfigError(
                f"HeadPose.predict_crops: expected uint8 (N, H, W, 3) RGB crops, got "
                f"{crops.dtype} {crops.shape}"
            )
        if not len(crops):
            return np.zeros((0, 3), np.float32)
        out = [
            self.model.predict(to_model_input(crops[i : i + BATCH_SIZE], self.input_size))
            for i in range(0, len(crops), BATCH_SIZE)
        ]
        return np.asarray(np.concatenate(out), np.float32).reshape(-1, 3)


def _as_rgb(image: np.ndarray, where: str) -> np.ndarray:
    image = np.asarray(image)
    if (
        image.dtype != np.uint8
        or image.ndim not in (2, 3)
        or (image.ndim == 3 and image.shape[2] not in (1, 3))
    ):
        raise ConfigError(
            f"{where}: expected a uint8 RGB (H, W, 3) or grayscale (H, W) image, got "
            f"{image.dtype} {image.shape}"
        )
    if image.ndim == 2:
        image = image[..., None]
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    if min(image.shape[:2]) < 1:
        raise ConfigError(f"{where}: empty image {image.shape}")
    return np.ascontiguousarray(image)
