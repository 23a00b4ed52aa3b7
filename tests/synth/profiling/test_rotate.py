import numpy as np
import pandas as pd
import pytest

from headpose.angles import euler_to_matrix, geodesic_deg
from headpose.data.faceset import FaceSet
from headpose.synth.landmarks import MESH_INDEX_68
from headpose.synth.profiling.config import ProfileConfig
from headpose.synth.profiling.rotate import preview_figure, profile_face, profile_faceset
from headpose.teacher.pose import fit_pose
from tests.synth.profiling.photos import BLUE, SIZE, SKIN, synthetic_photo


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
    photo = profile_face(
        image,
        landmarks,
        angles,
        target,
        np.random.default_rng(0),
        ProfileConfig(background="photo", **config),
    ).image.astype(float)
    border = profile_face(
        image,
        landmarks,
        angles,
        target,
        np.random.default_rng(0),
        ProfileConfig(background="border", **config),
    ).image.astype(float)
    assert (
        photo[:, 0, 1].std() > 80 > 10 > border[:, 0, 1].std()
    )  # the stripes stay, a border fill blurs them
    # where the old head was and the turned one is not: a blend of the scene, not the old face's skin
    assert np.abs(photo[0, -1] - SKIN * 255).max() > 60


def _pseudo_labelled() -> FaceSet:
    poses = np.array([[25.0, -10.0, 10.0], [-40.0, 5.0, -5.0]])
    photos = [synthetic_photo(p) for p in poses]
    labels = pd.DataFrame(poses, columns=["yaw", "pitch", "roll"]).assign(
        source="webcam", subject=["a", "b"], file=["a.jpg", "b.jpg"]
    )
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


def test_bench_profile_command_prints_images_per_second(capsys):
    import json

    from headpose.cli import main

    assert main(["bench-profile", "--images", "8", "--size", "64"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["images"] >= 8 and result["images_per_s"] > 0
