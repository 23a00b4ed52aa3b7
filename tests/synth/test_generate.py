import cv2
import numpy as np
import pytest

from headpose.angles import euler_to_matrix, geodesic_deg
from headpose.synth import generate as gen
from headpose.synth.config import SynthConfig
from headpose.synth.generate import CHUNK_SIZE, generate
from headpose.synth.head_model import head_model

FLIP_YZ = np.diag([1.0, -1.0, -1.0])  # our camera frame (y up, z toward viewer) <-> OpenCV's
NOSE_TIP = 30
BOX = 90.0  # +-90 deg on every axis: the widest box pitch allows


def _faces(**params):
    params = {"num_images": 12, "seed": 3, "num_identities": 4, "occlusion_probability": 0.0, **params}
    return generate(SynthConfig(**params), workers=1, progress=False)


def _tiny(**params):
    """Hundreds of 16-pixel images: enough for label statistics, rendered in a fraction of a second."""
    return _faces(**{"num_images": 600, "image_size": 16, "num_identities": 30, **params})


@pytest.fixture(scope="module")
def faces():
    return _faces(num_images=24, num_identities=6, occlusion_probability=0.5)


def test_labels_and_arrays_have_the_documented_form(faces):
    n = len(faces)
    assert faces.images.shape == (n, 128, 128, 3) and faces.images.dtype == np.uint8
    assert list(faces.labels.columns) == ["yaw", "pitch", "roll", "source", "subject", "index"]
    assert (faces.labels["source"] == "synthetic").all() and faces.labels["index"].tolist() == list(range(n))
    assert faces.labels["subject"].str.fullmatch(r"synth3-[0-5]").all()
    shapes = {
        "rotation": (3, 3),
        "landmarks": (68, 2),
        "shape_params": (10,),
        "expression_params": (6,),
        "camera_matrix": (3, 3),
        "translation": (3,),
    }
    assert set(faces.arrays) == set(shapes)
    for name, shape in shapes.items():
        assert faces.arrays[name].shape == (n, *shape) and faces.arrays[name].dtype == np.float32, name
        assert np.isfinite(faces.arrays[name]).all(), name


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
    return _faces(
        num_images=1,
        yaw_range=(yaw, yaw),
        pitch_range=(pitch, pitch),
        roll_range=(0.0, 0.0),
        off_axis_max=0.0,
        crop_shift=0.0,
    ).arrays["landmarks"][0]


def test_positive_yaw_turns_the_nose_to_image_left_and_positive_pitch_up():
    def nose(**pose):
        lm = _single_pose(**pose)
        return lm[NOSE_TIP] - lm.mean(0)

    assert nose(yaw=30)[0] < -5 < 5 < nose(yaw=-30)[0]
    assert nose(pitch=30)[1] < nose()[1] < nose(pitch=-30)[1]  # image rows grow downward


def test_landmarks_lie_on_the_rendered_head(monkeypatch):
    def green_background(out, depth, *args):
        out[depth == 0] = (0, 255, 0)

    monkeypatch.setattr(gen, "compose_background", green_background)
    near_frontal = _faces(
        yaw_range=(-20.0, 20.0), pitch_range=(-20.0, 20.0), roll_range=(-20.0, 20.0), large_angle_fraction=0.0
    )
    for image, landmarks in zip(near_frontal.images, near_frontal.arrays["landmarks"]):
        head = np.any(image != (0, 255, 0), axis=-1)
        assert 0.3 < head.mean() < 0.98  # a head, not a blank or a close-up
        # Jaw-line landmarks sit on the silhouette: allow them the pixel next to it.
        head = cv2.dilate(head.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        inside = np.all((landmarks > 0) & (landmarks < 127), axis=1)
        rows, cols = np.round(landmarks[inside]).astype(int).T[::-1]
        assert head[rows, cols].all()


def test_landmarks_lie_inside_the_crop():
    # Even at extreme poses: the crop is the landmarks' box with a margin of at least 15% per side
    # and a centre jitter of at most 5% of its side, so the landmarks keep >= 6% of the side from every edge.
    size = 64
    wide = _tiny(
        num_images=300,
        image_size=size,
        yaw_range=(-99.0, 99.0),
        pitch_range=(-BOX, BOX),
        roll_range=(-BOX, BOX),
        large_angle_fraction=1.0,
    )
    landmarks = wide.arrays["landmarks"]
    assert landmarks.min() > 0.06 * size - 0.5 and landmarks.max() < 0.94 * size - 0.5
    centre = (landmarks.min(1) + landmarks.max(1)) / 2
    assert np.abs(centre - (size - 1) / 2).max() <= 0.05 * size + 0.5  # only the configured jitter


def test_same_seed_gives_identical_output_and_different_seeds_do_not():
    a, again, b = (_tiny(num_images=100, seed=s, occlusion_probability=0.5) for s in (1, 1, 2))
    assert np.array_equal(a.images, again.images) and a.labels.equals(again.labels)
    assert all(np.array_equal(a.arrays[k], again.arrays[k]) for k in a.arrays)
    assert all(not np.array_equal(x, y) for x, y in zip(a.images, b.images))  # every image differs
    assert (np.abs(a.angles - b.angles).max(1) > 0).all()
    assert not np.array_equal(a.arrays["shape_params"], b.arrays["shape_params"])


def test_same_seed_gives_identical_output_with_one_or_two_workers():
    config = SynthConfig(num_images=CHUNK_SIZE + 5, image_size=32, seed=11, num_identities=10)
    one, two = generate(config, workers=1, progress=False), generate(config, workers=2, progress=False)
    assert np.array_equal(one.images, two.images)
    assert one.labels.equals(two.labels)
    assert all(np.array_equal(one.arrays[k], two.arrays[k]) for k in one.arrays)


def test_angles_fill_their_configured_ranges_and_never_leave_them():
    ranges = {"yaw": (-10.0, 60.0), "pitch": (-20.0, 5.0), "roll": (30.0, 40.0)}
    narrow = _tiny(
        yaw_range=ranges["yaw"],
        pitch_range=ranges["pitch"],
        roll_range=ranges["roll"],
        large_angle_fraction=0.5,
    )
    for column, (lo, hi) in ranges.items():
        values = narrow.labels[column]
        assert values.between(lo, hi).all(), column
        assert values.min() < lo + 0.02 * (hi - lo) and values.max() > hi - 0.02 * (hi - lo), column


@pytest.mark.parametrize("fraction", [0.0, 0.5, 1.0])
def test_large_angle_fraction_of_images_turn_past_the_threshold(fraction):
    # A uniform draw from the +-90 box keeps all three angles inside +-60 with probability (60/90)^3;
    # the large-angle images never do: one of their angles lies beyond +-60.
    wide = _tiny(
        yaw_range=(-BOX, BOX),
        pitch_range=(-BOX, BOX),
        roll_range=(-BOX, BOX),
        large_angle_fraction=fraction,
        large_angle_threshold=60.0,
    )
    inside = (np.abs(wide.angles) < 60).all(1).mean()
    assert inside == pytest.approx((1 - fraction) * (60 / BOX) ** 3, abs=0.05)
    assert (np.abs(wide.angles) <= BOX).all()


def test_occluders_cover_pixels_and_leave_labels_alone():
    clear, covered = (_tiny(num_images=64, image_size=64, occlusion_probability=p) for p in (0.0, 1.0))
    assert clear.labels.equals(covered.labels)
    assert all(np.array_equal(clear.arrays[k], covered.arrays[k]) for k in clear.arrays)
    changed = (clear.images != covered.images).any(-1).mean((1, 2))
    assert (changed > 0).all() and np.median(changed) > 0.02


def test_identities_repeat_and_keep_their_shape(faces):
    subjects = faces.labels["subject"]
    assert subjects.nunique() == 6 and subjects.value_counts().min() >= 2
    for _, group in faces.labels.groupby("subject"):
        shapes = faces.arrays["shape_params"][group.index]
        assert np.array_equal(shapes, np.repeat(shapes[:1], len(shapes), 0))
    assert len(np.unique(faces.arrays["shape_params"], axis=0)) == 6
