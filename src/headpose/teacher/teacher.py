"""The MediaPipe teacher: BlazeFace -> 478 landmarks -> Procrustes pose -> profile-yaw correction.

Used to pseudo-label real photos (``pseudolabel`` pipeline, ``headpose label``) and as a model
that ``headpose evaluate --model mediapipe`` scores like any other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from headpose.angles import euler_to_matrix
from headpose.data.crops import box_from_landmarks
from headpose.synth.landmarks import MESH_INDEX_68
from headpose.teacher import TEACHER
from headpose.teacher.blazeface import BlazeFaceDetector, FaceBox
from headpose.teacher.calibration import YawCalibration, default_calibration
from headpose.teacher.landmarker import FaceLandmarker, Landmarks, Roi
from headpose.teacher.pose import PoseFit, fit_pose
from headpose.teacher.tflite import TEACHER_VERSION

# ROI side / BlazeFace box side for the first landmark pass (MediaPipe: 1.5).
DETECTION_ROI_SCALE = 1.5


@dataclass(frozen=True)
class TeacherLabel:
    angles: np.ndarray  # (yaw, pitch, roll) degrees, corrected
    raw_angles: np.ndarray  # before the yaw correction
    landmarks: np.ndarray  # (478, 3) image pixels
    presence: float  # landmark network's face-presence probability
    residual: float  # Procrustes RMS residual, cm of the canonical mesh
    detector_score: float  # BlazeFace score (1.0 when the ROI was given)
    box: np.ndarray  # crop box of the 68-point subset, as training crops are cut
    fit: PoseFit

    @property
    def rotation(self) -> np.ndarray:
        return euler_to_matrix(*self.angles)

    def landmarks_68(self) -> np.ndarray:
        return self.landmarks[MESH_INDEX_68, :2]


@dataclass
class MediaPipeTeacher:
    """``refine`` runs the landmark network a second time on the ROI its first landmarks give
    (MediaPipe's tracking ROI: upright, 1.6 x the landmark box)."""

    min_score: float = 0.5
    refine: bool = True
    threads: int = 1
    calibration: YawCalibration | None = field(default_factory=default_calibration)
    name: str = field(default=TEACHER, init=False)
    version: str = field(default=TEACHER_VERSION, init=False)

    def __post_init__(self) -> None:
        self.detector = BlazeFaceDetector(min_score=self.min_score, threads=self.threads)
        self.landmarker = FaceLandmarker(threads=self.threads)

    def detect(self, image: np.ndarray) -> list[FaceBox]:
        return self.detector.detect(_rgb(image))

    def label_image(self, image: np.ndarray, max_faces: int | None = None) -> list[TeacherLabel]:
        """Every face BlazeFace finds in a uint8 RGB (or grayscale) image, highest score first."""
        image = _rgb(image)
        faces = self.detector.detect(image)[:max_faces]
        return [
            self.label_roi(image, Roi.from_box(f.box, DETECTION_ROI_SCALE, f.eye_angle), f.score)
            for f in faces
        ]

    def label_roi(self, image: np.ndarray, roi: Roi, detector_score: float = 1.0) -> TeacherLabel:
        image = _rgb(image)
        result = self.landmarker(image, roi)
        if self.refine:
            result = self.landmarker(image, Roi.from_landmarks(result.points))
        return self._label(result, detector_score)

    def label_crop_box(self, image: np.ndarray, landmarks_2d: np.ndarray) -> TeacherLabel:
        """Label a face whose landmarks are known (AFLW2000's ground-truth crop protocol)."""
        roi = Roi.from_box(box_from_landmarks(landmarks_2d, margin=0.3))  # side = 1.6 x the landmark box
        return self.label_roi(image, roi)

    def _label(self, result: Landmarks, detector_score: float) -> TeacherLabel:
        fit = fit_pose(result.points)
        raw = fit.angles
        angles = self.calibration.apply(raw) if self.calibration is not None else raw
        return TeacherLabel(
            angles,
            raw,
            result.points,
            result.presence,
            fit.residual,
            detector_score,
            box_from_landmarks(result.points[MESH_INDEX_68, :2]),
            fit,
        )


def _rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=2)
    return image
