from pathlib import Path

import cv2
import numpy as np
import pytest

from headpose.angles import euler_to_matrix, geodesic_deg
from headpose.errors import ConfigError
from headpose.synth import generate as gen
from headpose.synth.generate import CHUNK_SIZE, SynthConfig, generate
from headpose.synth.head_model import head_model

FLIP_YZ = np.diag([1.0, -1.0, -1.0])  # our camera frame (y up, z toward viewer) <-> OpenCV's
NOSE_TIP = 30


def _faces(**params):
    params = {"num_images": 12, "seed": 3, "num_identities": 4, "occlusion_probability": 0.0, **params}
    return generate(SynthConfig(**params), workers=1, progress=False)


@pytest.fixture(scope="module")
def faces():
    return _faces(num_images=24, num_identities=6, occlusion_probability=0.5)


def test_labels_and_arrays_have_the_documented_form(faces):
    n = len(faces)
    assert faces.images.shape == (n, 128, 128, 3)
    assert list(faces.labels.columns) == ["yaw", "pitch", "roll", "source", "subject", "index"]
    assert (faces.labels["source"] == "synthetic").all() and faces.labels["index"].tolist() == list(range(n))
    shapes = {"rotation": (3, 3), "landmarks": (68, 2), "shape_params": (10,), "expression_params": (6,),
              "camera_matrix": (3, 3), "translation": (3,)}
    for name, shape in shapes.items():
        assert faces.arrays[name].shape == (n, *shape) and faces.arrays[name].dtype == np.float32, name


def test_rotation_array_is_the_angles_module_matrix_of_the_labels(faces):
    expected = euler_to_matrix(*faces.labels[["yaw", "pitch", "roll"]].to_numpy().T)
    np.testing.assert_allclose(faces.arrays["rotation"], expected, atol=1e-6)


def _pnp_rotation_errors(faces) -> np.ndarray:
    """Geodesic error (deg) of PnP on each image's 2D landmarks against its own 3D head."""
    model, errors = head_model(), []
    for i in range(len(faces)):
        points = model.landmarks_68(faces.arrays["shape_params"][i], faces.arrays["expression_params"][i])
        pixels = faces.arrays["landmarks"][i].astype(np.float64)
        camera = faces.arrays["camera_matrix"][i].astype(np.float64)
        ok, rvec, _ = cv2.solvePnP(points, pixels, camera, None, flags=cv2.SOLVEPNP_SQPNP)
        assert ok
        errors.append(geodesic_deg(FLIP_YZ @ cv2.Rodrigues(rvec)[0], faces.arrays["rotation"][i]))
    return np.array(errors)


def test_pnp_on_the_landmarks_recovers_the_labelled_rotation(faces):
    assert _pnp_rotation_errors(faces).max() < 2.0


@pytest.mark.parametrize("yaw", [(80.0, 85.0), (-85.0, -80.0)])
def test_pnp_recovers_profile_poses(yaw):
    profiles = _faces(num_images=4, yaw_range=yaw, pitch_range=(-20.0, 20.0), roll_range=(-20.0, 20.0))
    assert _pnp_rotation_errors(profiles).max() < 2.0


def test_camera_matrix_and_translation_project_the_head_onto_the_landmarks(faces):
    model = head_model()
    for i in range(len(faces)):
        points = model.landmarks_68(faces.arrays["shape_params"][i], faces.arrays["expression_params"][i])
        camera = points @ faces.arrays["rotation"][i].T.astype(np.float64) + faces.arrays["translation"][i]
        pixels = (faces.arrays["camera_matrix"][i] @ (camera @ FLIP_YZ).T).T
        np.testing.assert_allclose(pixels[:, :2] / pixels[:, 2:], faces.arrays["landmarks"][i], atol=0.05)


def _single_pose(yaw=0.0, pitch=0.0):
    """Landmarks of one head at a fixed pose; everything else (same seed) is the same."""
    return _faces(num_images=1, yaw_range=(yaw, yaw), pitch_range=(pitch, pitch), roll_range=(0.0, 0.0),
                  off_axis_max=0.0, crop_shift=0.0).arrays["landmarks"][0]


def test_positive_yaw_turns_the_nose_to_image_left_and_positive_pitch_up():
    def nose(**pose):
        lm = _single_pose(**pose)
        return lm[NOSE_TIP] - lm.mean(0)

    assert nose(yaw=30)[0] < -5 < 5 < nose(yaw=-30)[0]
    assert nose(pitch=30)[1] < nose()[1] < nose(pitch=-30)[1]  # image rows grow downward


def test_landmarks_lie_on_the_rendered_head(monkeypatch):
    def green_background(out, depth, *args):
        out[depth == 0] = (0, 255, 0)

    monkeypatch.setattr(gen, "_compose_background", green_background)
    near_frontal = _faces(yaw_range=(-20.0, 20.0), pitch_range=(-20.0, 20.0), roll_range=(-20.0, 20.0),
                          large_angle_fraction=0.0)
    for image, landmarks in zip(near_frontal.images, near_frontal.arrays["landmarks"]):
        head = np.any(image != (0, 255, 0), axis=-1)
        assert 0.3 < head.mean() < 0.98  # a head, not a blank or a close-up
        # Jaw-line landmarks sit on the silhouette: allow them the pixel next to it.
        head = cv2.dilate(head.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        inside = np.all((landmarks > 0) & (landmarks < 127), axis=1)
        rows, cols = np.round(landmarks[inside]).astype(int).T[::-1]
        assert head[rows, cols].all()


def test_images_are_not_blank(faces):
    assert (faces.images.reshape(len(faces), -1).std(1) > 10).all()


def test_same_seed_gives_identical_output_with_one_or_two_workers():
    config = SynthConfig(num_images=CHUNK_SIZE + 5, image_size=32, seed=11, num_identities=10)
    one, two = generate(config, workers=1, progress=False), generate(config, workers=2, progress=False)
    assert np.array_equal(one.images, two.images)
    assert one.labels.equals(two.labels)
    assert all(np.array_equal(one.arrays[k], two.arrays[k]) for k in one.arrays)


def test_different_seeds_give_different_images():
    a, b = (_faces(num_images=4, image_size=32, seed=s) for s in (1, 2))
    assert not np.array_equal(a.images, b.images) and not np.allclose(a.angles, b.angles)


def test_angles_stay_in_their_configured_ranges():
    narrow = _faces(num_images=64, image_size=16, yaw_range=(-10.0, 60.0), pitch_range=(-20.0, 5.0),
                    roll_range=(30.0, 40.0), large_angle_fraction=0.5)
    for column, (lo, hi) in zip(["yaw", "pitch", "roll"], [(-10, 60), (-20, 5), (30, 40)]):
        assert narrow.labels[column].between(lo, hi).all(), column
    wide = _faces(num_images=64, image_size=16, large_angle_fraction=1.0, large_angle_threshold=45.0)
    assert (np.abs(wide.angles).max(1) >= 45).all()
    assert (np.abs(wide.angles[:, 0]) <= 99).all() and (np.abs(wide.angles[:, 1:]) <= 90).all()


def test_identities_repeat_and_keep_their_shape(faces):
    subjects = faces.labels["subject"]
    assert subjects.nunique() == 6 and subjects.value_counts().min() >= 2
    for _, group in faces.labels.groupby("subject"):
        shapes = faces.arrays["shape_params"][group.index]
        assert np.array_equal(shapes, np.repeat(shapes[:1], len(shapes), 0))
    assert len(np.unique(faces.arrays["shape_params"], axis=0)) == 6


@pytest.mark.parametrize(
    "params, key",
    [
        ({"num_images": 0}, "synth.num_images"),
        ({"seed": "abc"}, "synth.seed"),
        ({"image_size": 12.5}, "synth.image_size"),
        ({"yaw_range": [30, -30]}, "synth.yaw_range"),
        ({"pitch_range": [-120, 0]}, "synth.pitch_range"),
        ({"occlusion_probability": 1.5}, "synth.occlusion_probability"),
        ({"workers": 0}, "synth.workers"),
        ({"light_max_angle": True}, "synth.light_max_angle"),
        ({"colour": "red"}, "synth.colour"),
    ],
)
def test_config_errors_name_the_key(params, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        SynthConfig.from_dict(params)


def test_the_project_parameters_are_a_valid_config():
    yaml = pytest.importorskip("yaml")
    path = Path(__file__).resolve().parents[2] / "conf" / "base" / "parameters_data.yml"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    config = SynthConfig.from_dict(yaml.safe_load(path.read_text())["synth"])
    assert config.num_images > 0 and config.yaw_range[1] <= 99


def test_normal_pitch_and_roll_stay_in_range_and_concentrate_near_zero():
    from headpose.synth.generate import SynthConfig, _sample_pose

    config = SynthConfig.from_dict({"pitch_std": 20, "roll_std": 20, "large_angle_fraction": 0.0})
    ypr = _sample_pose(config, np.random.default_rng(0), 4000)
    assert np.abs(ypr[:, 1:]).max() <= 90
    assert 15 < ypr[:, 1].std() < 25 and 15 < ypr[:, 2].std() < 25
    assert np.abs(ypr[:, 0]).max() > 95  # yaw stays uniform over +-99


def test_a_null_std_means_uniform_and_a_bad_std_is_named():
    from headpose.errors import ConfigError
    from headpose.synth.generate import SynthConfig

    assert SynthConfig.from_dict({"pitch_std": None}).pitch_std is None
    with pytest.raises(ConfigError, match="synth.roll_std"):
        SynthConfig.from_dict({"roll_std": "wide"})
