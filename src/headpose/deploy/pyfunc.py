"""The MLflow pyfunc flavour of a headpose model: an ONNX file plus our preprocessing.

Input: a pandas DataFrame with a column ``image`` holding base64-encoded image bytes (PNG/JPEG)
of RGB face crops. Output: a DataFrame with columns yaw, pitch, roll in degrees. The model runs on
ONNX Runtime (CPU) and needs nothing from the network, so ``mlflow models serve -m
models:/headpose@champion --env-manager local`` serves it offline. The PyTorch checkpoint is logged
beside it as an artifact for users who want to fine-tune.
"""

from __future__ import annotations

import base64
import binascii
from importlib.metadata import version
from pathlib import Path
from typing import Any

import cv2
import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.types import ColSpec, Schema

from headpose.data.faceset import ANGLE_COLUMNS
from headpose.data.preprocess import header_pixel_count, to_model_input
from headpose.errors import DatasetError

IMAGE_COLUMN = "image"
MAX_PIXELS = 4096 * 4096  # a face crop needs far fewer; a decompression bomb is refused before decoding
SERVING_PACKAGES = ("onnxruntime", "numpy", "pandas", "opencv-python-headless", "mlflow")
SIGNATURE = ModelSignature(
    inputs=Schema([ColSpec("string", IMAGE_COLUMN)]),
    outputs=Schema([ColSpec("double", c) for c in ANGLE_COLUMNS]),
)


def encode_image(rgb: np.ndarray) -> str:
    """uint8 (H, W, 3) RGB crop -> base64 PNG, the request format of the served model."""
    ok, png = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))
    if not ok:
        raise DatasetError(f"could not PNG-encode an image of shape {rgb.shape}")
    return base64.b64encode(png.tobytes()).decode("ascii")


def decode_image(text: str, row: int = 0, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """base64 image bytes -> uint8 (H, W, 3) RGB; DatasetError naming the row for anything else."""
    if not isinstance(text, str):
        raise DatasetError(
            f"row {row}: column {IMAGE_COLUMN!r} must be a base64 string, got {type(text).__name__}"
        )
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, TypeError, ValueError) as exc:
        raise DatasetError(f"row {row}: column {IMAGE_COLUMN!r} is not base64 ({exc})") from exc
    if not data:
        raise DatasetError(
            f"row {row}: column {IMAGE_COLUMN!r} is empty (a base64 PNG/JPEG face crop expected)"
        )
    pixels = header_pixel_count(data)
    if pixels is not None and pixels > max_pixels:
        raise DatasetError(
            f"row {row}: the image has {pixels:,} pixels, more than the {max_pixels:,} served; "
            "send the face crop, not the photo"
        )
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise DatasetError(
            f"row {row}: column {IMAGE_COLUMN!r} does not decode to an image (PNG/JPEG expected)"
        )
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class HeadposeOnnxModel(mlflow.pyfunc.PythonModel):
    """Face crops (base64) -> yaw, pitch, roll (degrees) with ONNX Runtime on the CPU."""

    def load_context(self, context) -> None:
        from headpose.deploy.runtime import onnx_predictor

        self._model = onnx_predictor(context.artifacts["onnx"], threads=None)

    def predict(
        self, context, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        frame = pd.DataFrame(model_input)
        if IMAGE_COLUMN not in frame.columns:
            raise DatasetError(
                f"input has columns {list(frame.columns)}; expected a column {IMAGE_COLUMN!r} "
                "of base64-encoded image bytes"
            )
        if not len(frame):
            return pd.DataFrame(columns=ANGLE_COLUMNS, dtype=np.float64)
        size = self._model.input_size
        try:
            batch = np.concatenate(
                [to_model_input(decode_image(text, i), size) for i, text in enumerate(frame[IMAGE_COLUMN])]
            )
        except DatasetError as exc:  # the client's fault: HTTP 400 with the reason, not a stack trace
            raise MlflowException(str(exc), error_code=INVALID_PARAMETER_VALUE) from None
        return pd.DataFrame(self._model.predict(batch).astype(np.float64), columns=ANGLE_COLUMNS)


# Model files shipped inside the package: the served model brings its own ONNX, not these.
_NOT_SERVED = ("*.onnx", "*.pt", "*.tflite", "*.task", "__pycache__")


def log_pyfunc_model(
    onnx_path: str | Path,
    checkpoint_path: str | Path | None,
    registered_model_name: str | None = None,
    name: str = "model",
    example_image: np.ndarray | None = None,
):
    """Log the ONNX file (+ checkpoint) as a pyfunc model in the active run; optionally register it.

    The model folder carries the headpose code it runs (``code_paths``, without the package's own
    model files), so a copy of it loads anywhere the serving packages are installed.
    """
    import shutil
    import tempfile

    import headpose

    artifacts = {"onnx": str(onnx_path)}
    if checkpoint_path is not None:
        artifacts["checkpoint"] = str(checkpoint_path)
    example = None if example_image is None else pd.DataFrame({IMAGE_COLUMN: [encode_image(example_image)]})
    with tempfile.TemporaryDirectory(prefix="headpose-code-") as tmp:
        code = Path(tmp) / "headpose"
        shutil.copytree(Path(headpose.__file__).parent, code, ignore=shutil.ignore_patterns(*_NOT_SERVED))
        return mlflow.pyfunc.log_model(
            name=name,
            python_model=str(
                Path(__file__).with_name("pyfunc_model.py")
            ),  # models from code: nothing pickled
            artifacts=artifacts,
            code_paths=[str(code)],
            signature=SIGNATURE,
            input_example=example,
            # Explicit requirements: inferring them would load the model and scan imports (slow, noisy).
            pip_requirements=[f"{name}=={version(name)}" for name in SERVING_PACKAGES],
            registered_model_name=registered_model_name,
        )
