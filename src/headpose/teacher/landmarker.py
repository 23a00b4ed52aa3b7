"""MediaPipe's face-landmark network: 478 points (468 mesh + 10 iris) from a rotated square ROI.

Input: 256 x 256 RGB in [0, 1], the face upright and about 1/1.6 of the ROI side. Output: x, y in
input pixels, z relative depth in the same units (smaller = nearer), and a face-presence logit.
We map the points back to image pixels, z scaled like x and y.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from headpose.teacher.tflite import LANDMARKER_PATH, TFLiteModel

INPUT_SIZE = 256
NUM_LANDMARKS = 478
# Outer eye corners of the mesh (image-left eye first): their line gives the face's in-plane angle.
EYE_CORNERS = (33, 263)
# ROI side / landmark-box side: the scale the network was trained on (MediaPipe uses 1.5 x its
# detector box, about 1.6 x the landmark box).
ROI_SCALE = 1.6


@dataclass(frozen=True)
class Roi:
    """A square, possibly rotated, image region: centre (x, y), side (pixels), angle (radians, y down)."""

    centre: tuple[float, float]
    side: float
    angle: float = 0.0

    @classmethod
    def from_box(cls, box, scale: float = 1.0, angle: float = 0.0) -> Roi:
        x0, y0, x1, y1 = (float(v) for v in box)
        return cls(((x0 + x1) / 2, (y0 + y1) / 2), max(x1 - x0, y1 - y0) * scale, angle)

    @classmethod
    def from_landmarks(cls, landmarks: np.ndarray, scale: float = ROI_SCALE) -> Roi:
        """The ROI MediaPipe tracks with: the landmarks' box in the face's own upright frame."""
        (ax, ay), (bx, by) = landmarks[EYE_CORNERS[0], :2], landmarks[EYE_CORNERS[1], :2]
        angle = float(np.arctan2(by - ay, bx - ax))
        c, s = np.cos(angle), np.sin(angle)
        upright = landmarks[:468, :2] @ np.array([[c, -s], [s, c]])  # rotate by -angle
        lo, hi = upright.min(0), upright.max(0)
        centre = np.array([[c, -s], [s, c]]) @ ((lo + hi) / 2)
        return cls((float(centre[0]), float(centre[1])), float((hi - lo).max()) * scale, angle)

    def to_image(self) -> np.ndarray:
        """(2, 3) affine map from ROI input pixels (0..256) to image pixels."""
        k = self.side / INPUT_SIZE
        c, s = np.cos(self.angle), np.sin(self.angle)
        linear = k * np.array([[c, -s], [s, c]])
        offset = np.asarray(self.centre) - linear @ np.array([INPUT_SIZE / 2, INPUT_SIZE / 2])
        return np.hstack([linear, offset[:, None]])


@dataclass(frozen=True)
class Landmarks:
    points: np.ndarray  # (478, 3) image pixels: x right, y down, z depth (smaller = nearer)
    presence: float  # face-presence probability in (0, 1)
    roi: Roi


class FaceLandmarker:
    def __init__(self, threads: int = 1) -> None:
        self._model = TFLiteModel(LANDMARKER_PATH, threads)
        sizes = self._model.output_sizes()
        self._points_index = sizes.index(NUM_LANDMARKS * 3)
        self._presence_index = next(i for i, n in enumerate(sizes) if n == 1 and i != self._points_index)

    def __call__(self, image: np.ndarray, roi: Roi) -> Landmarks:
        """Landmarks of the face in ``roi`` of a uint8 RGB image (grayscale (H, W) is accepted)."""
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
        affine = roi.to_image()
        crop = cv2.warpAffine(
            image,
            affine,
            (INPUT_SIZE, INPUT_SIZE),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
        )
        outputs = self._model.run(crop[None].astype(np.float32) / 255.0)
        pts = outputs[self._points_index].reshape(NUM_LANDMARKS, 3).astype(np.float64)
        xy = pts[:, :2] @ affine[:, :2].T + affine[:, 2]
        z = pts[:, 2] * roi.side / INPUT_SIZE
        logit = float(outputs[self._presence_index].reshape(-1)[0])
        return Landmarks(np.column_stack([xy, z]), 1.0 / (1.0 + np.exp(-logit)), roi)
