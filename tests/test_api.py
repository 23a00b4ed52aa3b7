"""The Python API: ``from headpose import HeadPose``."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from headpose.data.aflw2000 import read_rgb
from headpose.data.crops import box_from_landmarks, crop_resize
from headpose.data.preprocess import to_model_input
from headpose.deploy.model_refs import PRETRAINED_ONNX
from headpose.deploy.runtime import load_model
from headpose.errors import ConfigError, ModelError
from headpose.inference.blazeface_detector import BLAZEFACE_MAPPING
from headpose.inference.detection import CropMapping
from headpose.inference.smoothing import iou_matrix
from tests.inference.conftest import export_tiny_onnx


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return export_tiny_onnx(tmp_path_factory.mktemp("api") / "tiny.onnx")


@pytest.fixture(scope="module")
def hp(tiny):
    from headpose import HeadPose

    return HeadPose(tiny)


@pytest.fixture
def photo(aflw2000_dev):
    import scipy.io

    mat = scipy.io.loadmat(aflw2000_dev / "image00002.mat")
    return read_rgb(aflw2000_dev / "image00002.jpg"), box_from_landmarks(mat["pt3d_68"][:2].T)


def test_import_headpose_is_cheap_and_the_api_loads_lazily():
    code = (
        "import sys, headpose\n"
        "heavy = [m for m in ('torch', 'onnxruntime', 'cv2', 'mlflow', 'kedro', 'matplotlib')\n"
        "         if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "from headpose import HeadPose, Face\n"
        "heavy = [m for m in ('torch', 'onnxruntime', 'mlflow', 'kedro', 'matplotlib') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert 'HeadPose' in dir(headpose)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    import headpose

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        headpose.Nope  # noqa: B018


def test_predict_crops_is_the_model_on_training_style_crops(hp, tiny):
    crops = np.random.default_rng(0).integers(0, 256, (70, 64, 64, 3), dtype=np.uint8)  # > one batch
    angles = hp.predict_crops(crops)
    expected = load_model(str(tiny)).predict(to_model_input(crops, hp.input_size))
    assert angles.shape == (70, 3) and angles.dtype == np.float32
    np.testing.assert_allclose(angles, expected, atol=1e-4)
    np.testing.assert_allclose(hp.predict_crops(crops[0]), expected[:1], atol=1e-4)  # one (H, W, 3) crop
    assert hp.predict_crops(np.zeros((0, 64, 64, 3), np.uint8)).shape == (0, 3)
    with pytest.raises(ConfigError, match="uint8"):
        hp.predict_crops(crops.astype(np.float32))


def test_predict_finds_the_face_in_a_real_photo_with_blazeface(hp, photo):
    image, truth = photo
    (face,) = hp.predict(image)
    assert 0.5 <= face.confidence <= 1 and face.angles == (face.yaw, face.pitch, face.roll)
    np.testing.assert_allclose(face.crop_box, BLAZEFACE_MAPPING.crop_box(face.box))
    assert iou_matrix(np.array([face.crop_box]), truth[None])[0, 0] > 0.75
    crop = crop_resize(image, np.array(face.crop_box), hp.input_size)
    np.testing.assert_allclose(face.angles, hp.predict_crops(crop)[0], atol=1e-4)
    gray = hp.predict(image.mean(-1).astype(np.uint8))
    assert len(gray) == 1


def test_predict_with_your_own_boxes_and_nothing_found(hp, photo):
    image, truth = photo
    landmark_box = CropMapping(margin=0.0).crop_box(truth)  # any landmark-like box
    (face,) = hp.predict(image, boxes=[landmark_box])
    np.testing.assert_allclose(face.crop_box, CropMapping().crop_box(landmark_box))
    assert face.confidence == 1.0
    assert hp.predict(np.full((240, 320, 3), 128, np.uint8)) == []
    with pytest.raises(ConfigError, match="boxes"):
        hp.predict(image, boxes=[[10, 10, 5, 20]])
    with pytest.raises(ConfigError, match="uint8 RGB"):
        hp.predict(np.zeros((10, 10, 4), np.uint8))


def test_model_references_and_errors(tiny, tmp_path, monkeypatch):
    from headpose import HeadPose

    assert "tiny.onnx" in repr(HeadPose(str(tiny), detector="whole"))
    with pytest.raises(ModelError, match="model file not found"):
        HeadPose(tmp_path / "missing.onnx")
    with pytest.raises(ConfigError, match="teacher"):
        HeadPose("mediapipe")
    import headpose.deploy.model_refs as model_refs

    monkeypatch.setattr(model_refs, "PRETRAINED_ONNX", tmp_path / "headpose.onnx")
    with pytest.raises(ModelError, match="the pretrained model is not installed"):
        HeadPose()


def test_the_pretrained_model_on_a_real_photo(photo):
    if not PRETRAINED_ONNX.is_file():
        pytest.skip(f"{PRETRAINED_ONNX} is not installed yet")
    from headpose import HeadPose

    image, _ = photo
    (face,) = HeadPose("pretrained").predict(image)
    assert all(-99 <= a <= 99 for a in face.angles)


def test_the_readme_example_runs_as_written(photo, capsys):
    if not PRETRAINED_ONNX.is_file():
        pytest.skip(f"{PRETRAINED_ONNX} is not installed yet")
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    (example,) = [block for block in readme.split("```python\n")[1:] if "HeadPose(" in block]
    image, box = photo
    crops = crop_resize(image, box, 96)[None]
    namespace = {"image_rgb": image, "crops": crops}
    exec(example.split("```")[0], namespace)
    (line,) = capsys.readouterr().out.splitlines()  # one face in the photo: box, yaw, pitch, roll, confidence
    assert len(line.split()) >= 5
    assert namespace["angles"].shape == (1, 3)
