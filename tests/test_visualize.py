import io

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from headpose.data.augment import build_augmentation
from headpose.data.faceset import FaceSet
from headpose.visualize import angle_histograms, annotate, augmentation_preview, draw_axes, preview_grid

SIZE = 101
C = SIZE // 2


def blank() -> np.ndarray:
    return np.zeros((SIZE, SIZE, 3), np.uint8)


def centroid(image: np.ndarray, channel: int) -> np.ndarray:
    """(u, v) centre of the pixels drawn in one pure colour channel."""
    v, u = np.nonzero(image[..., channel] > 128)
    return np.array([u.mean(), v.mean()])


def test_frontal_axes_point_right_up_and_at_the_viewer():
    image = draw_axes(blank(), 0, 0, 0)
    red, green = centroid(image, 0), centroid(image, 1)
    assert red[0] > C + 10 and abs(red[1] - C) < 2  # x: right
    assert green[1] < C - 10 and abs(green[0] - C) < 2  # y: up (image v points down)
    assert (image[..., 2] > 128).sum() < 30  # z: towards the camera, a dot


def test_positive_yaw_turns_to_image_left_and_positive_pitch_up():
    assert centroid(draw_axes(blank(), 50, 0, 0), 2)[0] < C - 5
    assert centroid(draw_axes(blank(), 0, 50, 0), 2)[1] < C - 5


def test_draw_axes_leaves_the_input_untouched_and_honours_center_and_size():
    image = blank()
    out = draw_axes(image, 0, 0, 0, center=(20, 30), size=10)
    assert not image.any()
    assert centroid(out, 0) == pytest.approx([25, 30], abs=1.5)


def test_annotate_draws_each_face_box_axes_and_caption_on_a_copy():
    image = np.zeros((200, 300, 3), np.uint8)
    out = annotate(
        image,
        np.array([[40.0, 60.0, 100.0, 120.0], [180.0, 50.0, 260.0, 130.0]]),
        np.array([[0.0, 0.0, 0.0], [30.0, -10.0, 5.0]]),
    )
    assert not image.any() and out.shape == image.shape and out.dtype == np.uint8
    white = (out == 255).all(-1)
    assert white[[60, 120, 50, 130], [40, 100, 180, 260]].all()  # each box's corners
    v, u = np.nonzero((out[..., 0] > 128) & (out[..., 1] < 64) & (out[..., 2] < 64))  # the red x axes
    first = u < 150
    assert [u[first].mean(), v[first].mean()] == pytest.approx(
        [70 + 18, 90], abs=3
    )  # from the box centre, right
    caption = (out[..., 0] > 128) & (out[..., 1] > 128) & (out[..., 2] < 64)  # yellow text above each box
    assert caption[:60, 40:120].any() and caption[:50, 180:280].any()
    assert annotate(image, np.zeros((0, 4)), np.zeros((0, 3))).tolist() == image.tolist()


def test_preview_grid_is_a_uint8_mosaic_with_captions():
    grid = preview_grid([blank() + 90] * 5, [(10, 20, 30)] * 5, titles=list("abcde"), cols=3, tile=64)
    assert grid.dtype == np.uint8 and grid.ndim == 3
    assert grid.shape[1] == 3 * (64 + 2) + 2
    assert (grid == 0).all(-1).any()  # caption text is black on white


@pytest.fixture
def faceset() -> FaceSet:
    rng = np.random.default_rng(0)
    images = rng.integers(60, 200, (6, 32, 32, 3), dtype=np.uint8)
    labels = pd.DataFrame(rng.uniform(-60, 60, (6, 3)), columns=["yaw", "pitch", "roll"])
    return FaceSet(images, labels)


def test_augmentation_preview_is_non_trivial_and_reproducible(faceset):
    augment = build_augmentation({})
    grid = augmentation_preview(faceset, augment, n=3, per_sample=2, seed=4)
    assert grid.dtype == np.uint8 and grid.shape[0] > 3 * 128 and grid.shape[1] > 3 * 128
    assert len(np.unique(grid.reshape(-1, 3), axis=0)) > 100
    np.testing.assert_array_equal(grid, augmentation_preview(faceset, augment, n=3, per_sample=2, seed=4))


def test_angle_histograms_overlays_each_split():
    rng = np.random.default_rng(0)
    fig = angle_histograms({"train": rng.uniform(-90, 90, (50, 3)), "val": rng.uniform(-30, 30, (20, 3))})
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    assert [ax.get_title() for ax in fig.axes] == ["yaw", "pitch", "roll"]
    assert all(len(ax.containers) == 2 for ax in fig.axes)
    fig.savefig(io.BytesIO(), format="png")


def test_point_labels_do_not_overlap_in_a_crowded_corner():
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    from headpose.visualize import label_points

    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    xs = [0.12, 0.125, 0.17, 0.18, 0.2, 0.6, 2.3, 11.0]
    ys = [3.8, 3.84, 3.8, 3.81, 3.8, 3.1, 2.9, 2.9]
    names = [f"student_variant_{i}_onnx" for i in range(len(xs))]
    ax.scatter(xs, ys)
    ax.set_xscale("log")
    fig.tight_layout()
    label_points(ax, xs, ys, names)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [Text.get_window_extent(t, renderer) for t in ax.texts]  # the text, without its leader line
    frame = ax.get_window_extent(renderer)
    assert sorted(t.get_text() for t in ax.texts) == sorted(names)
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    assert all(frame.x0 <= b.x0 and b.x1 <= frame.x1 and frame.y0 <= b.y0 and b.y1 <= frame.y1 for b in boxes)
