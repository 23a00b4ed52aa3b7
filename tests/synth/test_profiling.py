import numpy as np
import pandas as pd
import pytest

from headpose.angles import euler_to_matrix, geodesic_deg
from headpose.data.faceset import FaceSet
from headpose.errors import ConfigError
from headpose.synth.head_model import head_model
from headpose.synth.landmarks import MESH_INDEX_68
from headpose.synth.profiling import (ProfileConfig, _fill_holes, delta_rotation, preview_figure, profile_face,
                                      profile_faceset, sample_target)
from headpose.synth.render import Hair, Light, render
from headpose.synth.textured import render_textured
from headpose.teacher.pose import fit_pose

SIZE, SCALE, DISTANCE = 128, 4.0, 1e4  # px, px per cm, cm (far: the render is weak-perspective)
CENTRE = (SIZE - 1) / 2
SKIN = np.array([0.8, 0.6, 0.47])
BLUE = np.array([0, 0, 255])


def synthetic_photo(angles) -> tuple[np.ndarray, np.ndarray]:
    """A uniformly skin-coloured mean head at ``angles`` on blue, and its exact 478 landmarks."""
    model = head_model()
    rotated = model.mean.astype(np.float64) @ euler_to_matrix(*angles).T
    vertices = rotated + [0.0, 0.0, -DISTANCE]
    background = np.broadcast_to(BLUE.astype(np.uint8), (SIZE, SIZE, 3))
    n = len(vertices)
    image, _ = render(background, vertices, model.triangles, np.tile(SKIN, (n, 1)), np.zeros(n),
                      Hair((0, 0, 0)), model.uvs, np.zeros(len(model.triangles), bool),
                      np.zeros((4, 4, 1), np.float32), np.zeros((1, 3), np.float32),
                      (SCALE * DISTANCE, CENTRE, CENTRE),
                      Light((0, 0, 1), intensity=0.0, ambient=1.0))
    face = rotated[:468]
    landmarks = np.column_stack([CENTRE + SCALE * face[:, 0], CENTRE - SCALE * face[:, 1],
                                 -SCALE * face[:, 2]])
    iris = np.repeat(landmarks[[468 - 1]], 10, 0)  # iris points: unused by profiling
    return image, np.concatenate([landmarks, iris])


# Targets on the photo's side, and on the other side (the photo is mirrored first); the photo's
# border and the photo itself (head removed) are both plain blue here.
@pytest.mark.parametrize("background", ["border", "photo"])
@pytest.mark.parametrize("target", [(70.0, 5.0, 10.0), (-95.0, -8.0, 10.0)])
def test_profiled_head_is_rendered_at_the_target_pose(target, background):
    angles = np.array([25.0, -10.0, 10.0])
    image, landmarks = synthetic_photo(angles)
    config = ProfileConfig(background=background)
    out = profile_face(image, landmarks, angles, np.array(target), np.random.default_rng(0), config)
    assert np.array_equal(out.angles, target)
    assert out.mirrored == (target[0] < 0)
    # Geometry, independently of the label: the new view's mesh points fit to the target rotation.
    fit = fit_pose(out.mesh_landmarks)
    assert geodesic_deg(fit.rotation, euler_to_matrix(*target)) < 1.0
    assert np.allclose(out.landmarks_68, out.mesh_landmarks[MESH_INDEX_68, :2])
    # Pixels: the head is where its projected landmarks are, and the background is elsewhere.
    assert out.image.shape == (128, 128, 3) and out.image.dtype == np.uint8
    lm = out.landmarks_68
    assert ((lm > 0) & (lm < 127)).all()
    inward = lm.mean(0) - lm  # landmarks on the outline (chin, nose tip) are probed 2 px inside it
    cols, rows = np.rint(lm + 2 * inward / np.linalg.norm(inward, axis=1, keepdims=True)).astype(int).T
    skin = np.abs(out.image.astype(float) - SKIN * 255).max(-1) < 25
    background = np.abs(out.image.astype(float) - BLUE).max(-1) < 25
    assert skin[rows, cols].mean() > 0.9  # a few may fall just outside a concave profile (lips)
    assert 0.05 < background.mean() < 0.8 and 0.2 < skin.mean() < 0.95


def test_photo_background_keeps_the_scene_in_place_without_the_old_head():
    angles = np.array([20.0, 0.0, 0.0])
    image, landmarks = synthetic_photo(angles)
    scene = ~(image != BLUE).any(-1)
    image[scene & (np.arange(SIZE) // 4 % 2 == 0)[:, None]] = (0, 255, 0)  # green stripes on blue
    target = np.array([60.0, 0.0, 0.0])
    config = dict(crop_shift=0.0, crop_scale_jitter=0.0)
    photo = profile_face(image, landmarks, angles, target, np.random.default_rng(0),
                         ProfileConfig(background="photo", **config)).image.astype(float)
    border = profile_face(image, landmarks, angles, target, np.random.default_rng(0),
                          ProfileConfig(background="border", **config)).image.astype(float)
    assert photo[:, 0, 1].std() > 80 > 10 > border[:, 0, 1].std()  # the stripes stay, a border fill blurs them
    # where the old head was and the turned one is not: a blend of the scene, not the old face's skin
    assert np.abs(photo[0, -1] - SKIN * 255).max() > 60


def test_fill_holes_keeps_known_pixels_and_fills_from_the_surroundings():
    ramp = np.repeat(np.linspace(0, 255, 64)[None, :, None], 64, 0).repeat(3, 2).astype(np.uint8)
    hole = np.zeros((64, 64), bool)
    hole[20:44, 20:44] = True
    filled = _fill_holes(np.where(hole[..., None], 0, ramp).astype(np.uint8), hole)
    assert np.array_equal(filled[~hole], ramp[~hole])
    inside = filled[hole].astype(float)
    assert inside.min() >= ramp[:, 19].min() - 10 and inside.max() <= ramp[:, 44].max() + 10
    assert filled[32, 22, 0] < filled[32, 41, 0]  # the ramp carries into the hole


def test_delta_rotation_composes_to_the_target():
    rng = np.random.default_rng(0)
    for _ in range(20):
        teacher = rng.uniform([-99, -60, -60], [99, 60, 60])
        target = rng.uniform([-99, -60, -60], [99, 60, 60])
        composed = delta_rotation(teacher, target) @ euler_to_matrix(*teacher)
        assert np.allclose(composed, euler_to_matrix(*target))


def test_targets_respect_the_yaw_range_and_minimum_turn():
    config = ProfileConfig(min_yaw_delta=20.0, pitch_delta_range=(-5.0, 5.0))
    rng = np.random.default_rng(1)
    targets = np.array([sample_target((30.0, 10.0, -7.0), rng, config) for _ in range(300)])
    assert (np.abs(targets[:, 0]) <= 99).all() and np.abs(targets[:, 0]).max() > 90
    assert (np.abs(targets[:, 0] - 30) >= 20).all() and (np.abs(targets[:, 0] + 30) >= 20).all()
    assert (np.abs(targets[:, 1] - 10) <= 5).all() and (targets[:, 2] == -7).all()


def _pseudo_labelled() -> FaceSet:
    poses = np.array([[25.0, -10.0, 10.0], [-40.0, 5.0, -5.0]])
    photos = [synthetic_photo(p) for p in poses]
    labels = pd.DataFrame(poses, columns=["yaw", "pitch", "roll"]).assign(
        source="webcam", subject=["a", "b"], file=["a.jpg", "b.jpg"])
    landmarks = np.stack([p[1] for p in photos])
    return FaceSet(np.stack([p[0] for p in photos]), labels, {"landmarks_478": landmarks})


def test_profile_faceset_is_deterministic_and_keeps_provenance():
    faces = _pseudo_labelled()
    config = ProfileConfig(image_size=64)
    first = profile_faceset(faces, config, per_face=2, seed=3, progress=False)
    again = profile_faceset(faces, config, per_face=2, seed=3, progress=False)
    other = profile_faceset(faces, config, per_face=2, seed=4, progress=False)
    assert np.array_equal(first.images, again.images) and first.labels.equals(again.labels)
    assert not np.array_equal(first.images, other.images)
    assert first.images.shape == (4, 64, 64, 3) and first.arrays["landmarks"].shape == (4, 68, 2)
    assert list(first.labels["subject"]) == ["a", "a", "b", "b"]
    assert list(first.labels["file"]) == ["a.jpg", "a.jpg", "b.jpg", "b.jpg"]
    assert (first.labels["source"] == "profiled").all() and list(first.labels["source_index"]) == [0, 0, 1, 1]
    fig = preview_figure(faces, n=1, per_face=1, config=config)
    assert fig.axes


@pytest.mark.parametrize("params, key", [({"bogus": 1}, "bogus"), ({"image_size": 4}, "image_size"),
                                         ({"yaw_range": [10, -10]}, "yaw_range"), ({"mirror": 1}, "mirror"),
                                         ({"background": "photos"}, "background"),
                                         ({"crop_margin": "wide"}, "crop_margin")])
def test_bad_config_raises_config_error_naming_the_key(params, key):
    with pytest.raises(ConfigError, match=key):
        ProfileConfig.from_dict(params)


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


def test_bench_profile_command_prints_images_per_second(capsys):
    import json

    from headpose.cli import main

    assert main(["bench-profile", "--images", "8", "--size", "64"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["images"] >= 8 and result["images_per_s"] > 0
