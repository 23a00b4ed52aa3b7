"""MediaPipe's .tflite models, run by LiteRT (``ai-edge-litert``): no mediapipe or tensorflow package.

The model files come from MediaPipe's ``face_landmarker.task`` (Apache-2.0; see ``assets/NOTICE``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from headpose.errors import ConfigError, ModelError

ASSETS = Path(__file__).with_name("assets")
DETECTOR_PATH = ASSETS / "face_detector.tflite"
LANDMARKER_PATH = ASSETS / "face_landmarks_detector.tflite"
# Names what produced a pseudo-label; bump when the models, the fit or the calibration change.
TEACHER_VERSION = "mediapipe-face-landmarker-2023.05+procrustes-1"


class TFLiteModel:
    """One .tflite graph with a single float input; ``run`` returns the outputs by name."""

    def __init__(self, path: Path, threads: int = 1) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise ConfigError(
                "the MediaPipe teacher needs the 'ai-edge-litert' package (pip install ai-edge-litert)"
            ) from exc
        if not Path(path).is_file():
            raise ModelError(f"{path}: MediaPipe model file not found; reinstall headpose")
        self.path = Path(path)
        self._interpreter = Interpreter(model_path=str(path), num_threads=threads)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]
        self._outputs = self._interpreter.get_output_details()

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(v) for v in self._input["shape"])

    def run(self, tensor: np.ndarray) -> list[np.ndarray]:
        """Outputs in the graph's order for one (1, H, W, 3) float32 input."""
        self._interpreter.set_tensor(self._input["index"], np.ascontiguousarray(tensor, np.float32))
        self._interpreter.invoke()
        return [self._interpreter.get_tensor(o["index"]) for o in self._outputs]

    def output_sizes(self) -> list[int]:
        return [int(np.prod(o["shape"])) for o in self._outputs]
