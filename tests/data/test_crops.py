import numpy as np
import pytest

from headpose.data.crops import box_from_landmarks, crop_resize, square_box, to_crop_coords


def _dot_image(x: int, y: int, shape=(300, 400)) -> np.ndarray:
    image = np.zeros((*shape, 3), np.uint8)
    image[y - 1 : y + 2, x - 1 : x + 2] = 255
    return image


def _bright_centroid(crop: np.ndarray) -> np.ndarray:
    weight = crop[..., 0].astype(np.float64)
    ys, xs = np.mgrid[: crop.shape[0], : crop.shape[1]]
    return np.array([(xs * weight).sum(), (ys * weight).sum()]) / weight.sum()


def test_box_is_square_centred_on_landmarks_and_enlarged_by_margin():
    pts = np.array([[10.0, 20.0], [50.0, 20.0], [30.0, 100.0]])  # extent 40 x 80, centre (30, 60)
    x0, y0, x1, y1 = box_from_landmarks(pts, margin=0.25)
    assert x1 - x0 == pytest.approx(80 * 1.5)
    assert y1 - y0 == pytest.approx(80 * 1.5)
    assert ((x0 + x1) / 2, (y0 + y1) / 2) == pytest.approx((30, 60))


def test_box_ignores_non_finite_landmarks_and_refuses_none():
    pts = np.array([[0.0, 0.0], [10.0, 10.0], [np.nan, 500.0]])
    assert box_from_landmarks(pts, margin=0.0) == pytest.approx([0, 0, 10, 10])
    with pytest.raises(ValueError, match="no finite landmark"):
        box_from_landmarks(np.full((5, 2), np.nan))


def test_crop_of_the_whole_image_at_its_own_size_is_the_image():
    image = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert np.array_equal(crop_resize(image, np.array([0, 0, 64, 64]), 64), image)


@pytest.mark.parametrize("size", [32, 128, 300])  # shrinking, mild and strong enlarging
def test_a_marked_pixel_lands_where_to_crop_coords_says(size):
    image = _dot_image(230, 140)
    box = square_box((200, 150), 100.0)
    crop = crop_resize(image, box, size)
    expected = to_crop_coords(np.array([230.0, 140.0]), box, size)
    assert _bright_centroid(crop) == pytest.approx(expected, abs=0.05 * size / 100 + 0.3)


def test_crop_outside_the_image_pads_with_replicated_border_or_black():
    image = np.full((100, 100, 3), 200, np.uint8)
    box = np.array([-50, -50, 50, 50])  # top-left quarter of the box is outside
    replicated = crop_resize(image, box, 100, border="replicate")
    black = crop_resize(image, box, 100, border="constant")
    assert replicated.shape == (100, 100, 3) and replicated.dtype == np.uint8
    assert (replicated == 200).all()
    assert (black[:50, :50] == 0).all() and (black[60:, 60:] == 200).all()


def test_a_box_missing_the_image_entirely_is_an_error():
    with pytest.raises(ValueError, match="does not overlap"):
        crop_resize(np.zeros((50, 50, 3), np.uint8), np.array([100, 100, 150, 150]), 32)


def test_crop_refuses_non_rgb_uint8_images():
    with pytest.raises(ValueError, match="uint8"):
        crop_resize(np.zeros((50, 50), np.uint8), np.array([0, 0, 50, 50]), 32)
    with pytest.raises(ValueError, match="uint8"):
        crop_resize(np.zeros((50, 50, 3), np.float32), np.array([0, 0, 50, 50]), 32)


def test_landmark_box_maps_to_the_central_part_of_the_crop():
    pts = np.array([[100.0, 100.0], [180.0, 100.0], [140.0, 190.0]])  # extent 90
    crop_pts = to_crop_coords(pts, box_from_landmarks(pts, margin=0.25), 128)
    lo, hi = crop_pts.min(0), crop_pts.max(0)
    assert (lo + hi) / 2 == pytest.approx([63.5, 63.5], abs=1.0)
    assert (hi - lo).max() == pytest.approx(128 / 1.5, abs=1.5)
