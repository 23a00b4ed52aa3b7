import numpy as np

from headpose.synth.textured import render_textured

SQUARE = np.array([[-0.5, -0.5], [15.5, -0.5], [15.5, 15.5], [-0.5, 15.5]], np.float32)
# Counter-clockwise seen from the viewer with image y down: (0, 3, 2), (0, 2, 1) -> negative area.
FRONT = np.array([[0, 3, 2], [0, 2, 1]], np.int32)


def test_textured_square_at_identity_reproduces_the_source():
    source = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    background = np.zeros_like(source)
    fallback, ones = np.zeros((4, 3), np.float32), np.ones(4, np.float32)
    image, zbuf = render_textured(background, SQUARE, np.zeros(4), FRONT, SQUARE, source, fallback, ones)
    assert np.isfinite(zbuf).all()
    assert np.abs(image.astype(int) - source).max() <= 1
    # Weight 0: the fallback colour instead of the photo.
    grey = np.full((4, 3), 0.5, np.float32)
    image, _ = render_textured(background, SQUARE, np.zeros(4), FRONT, SQUARE, source, grey, np.zeros(4))
    assert (image == 128).all()


def test_textured_back_faces_are_culled_and_the_nearer_surface_wins():
    source = np.full((16, 16, 3), 200, np.uint8)
    background = np.zeros_like(source)
    args = (SQUARE, source, np.zeros((4, 3), np.float32), np.ones(4, np.float32))
    image, zbuf = render_textured(background, SQUARE, np.zeros(4), FRONT[:, ::-1], *args)
    assert not image.any() and np.isneginf(zbuf).all()
    # Two squares: the far one (depth 0, white photo) and the near one (depth 1, black fallback).
    screen = np.concatenate([SQUARE, SQUARE])
    triangles = np.concatenate([FRONT + 4, FRONT])  # the near one drawn first
    depth = np.array([0, 0, 0, 0, 1, 1, 1, 1], np.float32)
    weight = np.array([1, 1, 1, 1, 0, 0, 0, 0], np.float32)
    image, _ = render_textured(background, screen, depth, triangles, screen, source, np.zeros((8, 3)), weight)
    assert not image.any()
