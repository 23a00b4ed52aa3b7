from dataclasses import fields

import cv2
import numpy as np
import pytest

from headpose import angles as ang
from headpose.data.augment import AugmentConfig, affine, build_augmentation, flip
from headpose.errors import ConfigError
from headpose.synth.landmarks import template_landmarks_68
from headpose.visualize import draw_axes

SIZE = 97  # odd, so the image centre is a pixel centre
CENTRE = SIZE // 2
POSE = np.array([25.0, -15.0, 10.0])
ALL_PROBABILITIES = [f.name for f in fields(AugmentConfig) if f.name.endswith("_p")]
GEOMETRIC = ("flip_p", "rotate_p", "scale_p", "translate_p")  # the rest are photometric (perspective too)


def only(**params) -> dict:
    """An augment config with every op off except those given."""
    return {**{p: 0.0 for p in ALL_PROBABILITIES}, **params}


def render_landmarks(ypr, size: int = SIZE) -> np.ndarray:
    """The template's 68 landmarks at pose ``ypr``, orthographic, as blurred dots (x right, y up)."""
    points = template_landmarks_68() @ ang.euler_to_matrix(*ypr).T
    points -= points.mean(0) * [1, 1, 0]
    scale = 0.3 * size / np.abs(template_landmarks_68()[:, :2]).max()
    image = np.zeros((size, size, 3), np.uint8)
    c = (size - 1) / 2
    for x, y, _ in points:
        cv2.circle(image, (int(round(c + scale * x)), int(round(c - scale * y))), 2, (255, 255, 255), -1)
    return cv2.GaussianBlur(image, (0, 0), 1.5)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.astype(np.float64).ravel(), b.astype(np.float64).ravel())[0, 1])


def axis_iou(a: np.ndarray, b: np.ndarray, channel: int) -> float:
    """Overlap of the pixels where one colour channel dominates (one drawn axis)."""
    others = [k for k in range(3) if k != channel]
    masks = [(im[..., channel] > 120) & (im[..., others].max(-1) < 80) for im in (a, b)]
    return (masks[0] & masks[1]).sum() / max(1, (masks[0] | masks[1]).sum())


@pytest.fixture
def photo() -> np.ndarray:
    """A smooth, asymmetric test image."""
    y, x = np.mgrid[:SIZE, :SIZE] / SIZE
    return (np.stack([x, y, 0.5 + 0.5 * np.sin(6 * x * y)], -1) * 255).astype(np.uint8)


def test_flip_twice_is_identity(photo):
    image, ypr = flip(*flip(photo, POSE))
    np.testing.assert_array_equal(image, photo)
    np.testing.assert_allclose(ypr, POSE)


def test_flip_negates_yaw_and_roll_not_pitch(photo):
    image, ypr = flip(photo, POSE)
    np.testing.assert_array_equal(image, photo[:, ::-1])
    assert ypr == pytest.approx([-POSE[0], POSE[1], -POSE[2]])


def test_flipped_drawing_matches_the_flipped_label():
    # A mirror swaps handedness, so the painted x axis points the other way; y and z must agree.
    blank = np.zeros((SIZE, SIZE, 3), np.uint8)
    flipped_image, flipped_ypr = flip(draw_axes(blank, *POSE, thickness=3), POSE)
    redrawn = draw_axes(blank, *flipped_ypr, thickness=3)
    for channel in (1, 2):
        assert axis_iou(flipped_image, redrawn, channel) > 0.7


def test_rotate_then_back_restores_labels_and_centre(photo):
    image, ypr = affine(*affine(photo, POSE, 20.0), -20.0)
    np.testing.assert_allclose(ypr, POSE, atol=1e-9)
    centre = slice(SIZE // 4, 3 * SIZE // 4)
    diff = np.abs(image[centre, centre].astype(int) - photo[centre, centre].astype(int))
    assert diff.mean() < 3


@pytest.mark.parametrize("theta", [30.0, -45.0])
def test_rotated_axes_drawing_matches_the_updated_label(theta):
    drawn = draw_axes(np.zeros((SIZE, SIZE, 3), np.uint8), *POSE, thickness=3)
    rotated, ypr = affine(drawn, POSE, theta, border_mode="constant")
    wrong_sign = ang.rotate_in_plane(POSE, -theta)
    for channel in range(3):
        right = axis_iou(rotated, draw_axes(np.zeros_like(drawn), *ypr, thickness=3), channel)
        wrong = axis_iou(rotated, draw_axes(np.zeros_like(drawn), *wrong_sign, thickness=3), channel)
        assert right > 0.6 > wrong


def test_rotated_landmarks_match_the_updated_label():
    rotated, ypr = affine(render_landmarks(POSE), POSE, 35.0, border_mode="constant")
    assert correlation(rotated, render_landmarks(ypr)) > 0.9
    assert correlation(rotated, render_landmarks(ang.rotate_in_plane(POSE, -35.0))) < 0.5


def test_scale_keeps_the_label_and_the_centre_pixel_and_a_shift_moves_pixels_by_the_shift(photo):
    zoomed, ypr = affine(photo, POSE, 0.0, scale=1.3)
    np.testing.assert_array_equal(ypr, POSE)
    np.testing.assert_array_equal(zoomed[CENTRE, CENTRE], photo[CENTRE, CENTRE])
    assert not np.array_equal(zoomed, photo)
    shifted, ypr = affine(photo, POSE, 0.0, shift=(10 / SIZE, -5 / SIZE))  # 10 px right, 5 px up
    np.testing.assert_array_equal(ypr, POSE)
    diff = shifted[10:-10, 10:-10].astype(int) - photo[15:-5, :-20].astype(int)
    assert np.abs(diff).max() <= 1


def test_rotation_maps_the_label_through_rotate_in_plane_and_keeps_the_centre_pixel(photo):
    for theta in (30.0, -45.0):
        image, ypr = affine(photo, POSE, theta)
        np.testing.assert_allclose(ypr, ang.rotate_in_plane(POSE, theta), atol=1e-12)
        np.testing.assert_array_equal(image[CENTRE, CENTRE], photo[CENTRE, CENTRE])
    # A frontal head only rolls: counter-clockwise by theta lowers roll by theta.
    _, ypr = affine(photo, np.array([0.0, 0.0, 10.0]), 30.0)
    np.testing.assert_allclose(ypr, [0.0, 0.0, -20.0], atol=1e-9)


def test_augmenter_rotation_moves_the_label_with_the_image():
    augment = build_augmentation(only(rotate_p=1.0, rotate_max_deg=60.0, border_mode="constant"))
    drawn = draw_axes(np.zeros((SIZE, SIZE, 3), np.uint8), *POSE, thickness=3)
    image, ypr = augment(drawn, POSE, np.random.default_rng(3))
    assert abs(ypr[2] - POSE[2]) > 5  # it did rotate
    redrawn = draw_axes(np.zeros_like(drawn), *ypr, thickness=3)
    assert min(axis_iou(image, redrawn, k) for k in range(3)) > 0.6


def test_augmenter_never_rotates_a_label_past_the_bin_range():
    augment = build_augmentation(only(rotate_p=1.0, rotate_max_deg=60.0))
    rng = np.random.default_rng(0)
    for _ in range(50):
        _, ypr = augment(np.zeros((16, 16, 3), np.uint8), np.array([10.0, 0.0, 85.0]), rng)
        assert np.abs(ypr).max() <= ang.ANGLE_LIMIT_DEG


def test_augmenter_flip_mirrors_the_pixels_exactly_and_maps_the_label_through_flip_horizontal(photo):
    augment = build_augmentation(only(flip_p=1.0))
    out = augment.augment(photo, POSE, np.random.default_rng(0))
    assert out.flipped
    np.testing.assert_array_equal(out.image, photo[:, ::-1])
    np.testing.assert_array_equal(out.angles, ang.flip_horizontal(POSE))


def test_augmenter_rotation_changes_roll_by_the_angle_it_rotated_the_image_by(photo):
    frontal = np.array([0.0, 0.0, 10.0])
    augment = build_augmentation(only(rotate_p=1.0, rotate_max_deg=40.0))
    for seed in range(8):
        image, ypr = augment(photo, frontal, np.random.default_rng(seed))
        theta = frontal[2] - ypr[2]  # counter-clockwise by theta lowers a frontal head's roll by theta
        assert 0 < abs(theta) <= 40 and ypr[:2] == pytest.approx([0.0, 0.0], abs=1e-9)
        np.testing.assert_allclose(ypr, ang.rotate_in_plane(frontal, theta), atol=1e-9)
        np.testing.assert_array_equal(image, affine(photo, frontal, theta)[0])  # the pixels turned by theta
        np.testing.assert_array_equal(image[CENTRE, CENTRE], photo[CENTRE, CENTRE])


def test_disabled_config_is_identity(photo):
    augment = build_augmentation({"enabled": False, **{p: 1.0 for p in ALL_PROBABILITIES}})
    for seed in range(5):
        out = augment.augment(photo, POSE, np.random.default_rng(seed))
        np.testing.assert_array_equal(out.image, photo)
        np.testing.assert_array_equal(out.angles, POSE)
        assert not out.flipped


def test_zero_probabilities_never_apply_an_op(photo):
    strong = {"rotate_max_deg": 90.0, "scale_max": 0.5, "noise_max_std": 1.0}  # never used: p = 0
    augment = build_augmentation(only(**strong))
    for seed in range(30):
        out = augment.augment(photo, POSE, np.random.default_rng(seed))
        np.testing.assert_array_equal(out.image, photo)
        np.testing.assert_array_equal(out.angles, POSE)
        assert not out.flipped


def test_photometric_ops_never_change_labels(photo):
    photometric = [p for p in ALL_PROBABILITIES if p not in GEOMETRIC]
    augment = build_augmentation(only(**{p: 1.0 for p in photometric}))
    changed = 0
    for seed in range(20):
        image, ypr = augment(photo, POSE, np.random.default_rng(seed))
        np.testing.assert_array_equal(ypr, POSE)
        changed += not np.array_equal(image, photo)
    assert changed == 20


def test_scale_and_translate_jitter_keep_labels(photo):
    augment = build_augmentation(only(scale_p=1.0, translate_p=1.0))
    for seed in range(10):
        image, ypr = augment(photo, POSE, np.random.default_rng(seed))
        np.testing.assert_array_equal(ypr, POSE)
        assert not np.array_equal(image, photo)


def test_every_op_at_full_probability_keeps_shape_and_dtype(photo):
    augment = build_augmentation({p: 1.0 for p in ALL_PROBABILITIES})
    image, ypr = augment(photo, POSE, np.random.default_rng(0))
    assert image.shape == photo.shape and image.dtype == np.uint8
    assert ypr.shape == (3,) and not np.array_equal(image, photo)


def test_same_seed_same_output_and_different_seeds_differ(photo):
    augment = build_augmentation({p: 0.7 for p in ALL_PROBABILITIES})
    runs = [augment(photo, POSE, np.random.default_rng(seed)) for seed in (5, 5, 6)]
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert not np.array_equal(runs[0][0], runs[2][0])


def test_integer_strengths_from_yaml_are_accepted():
    assert AugmentConfig.from_dict({"rotate_max_deg": 20}).rotate_max_deg == 20.0


@pytest.mark.parametrize(
    "params, key",
    [
        ({"flip_p": 1.5}, "augment.flip_p"),
        ({"rotate_max_deg": "30"}, "augment.rotate_max_deg"),
        ({"enabled": "yes"}, "augment.enabled"),
        ({"occlusion_max_holes": 2.5}, "augment.occlusion_max_holes"),
        ({"border_mode": "wrap"}, "augment.border_mode"),
        ({"rotation_deg": 10}, "augment.rotation_deg"),
    ],
)
def test_bad_parameter_raises_config_error_naming_the_key(params, key):
    with pytest.raises(ConfigError, match=key):
        build_augmentation(params)
