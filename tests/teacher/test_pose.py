import numpy as np
import pytest

from headpose.angles import euler_to_matrix, geodesic_deg
from headpose.synth.landmarks import canonical_mesh
from headpose.teacher.pose import fit_pose


def image_landmarks(ypr, scale=4.0, centre=(120.0, 90.0), noise=0.0, seed=0) -> np.ndarray:
    """The canonical mesh at pose ``ypr`` seen by a weak-perspective camera: (x, y down, z depth) pixels."""
    vertices = canonical_mesh()["vertices"].astype(np.float64)
    cam = scale * vertices @ euler_to_matrix(*ypr).T
    cam += np.random.default_rng(seed).normal(0, noise, cam.shape)
    return np.column_stack([cam[:, 0] + centre[0], centre[1] - cam[:, 1], -cam[:, 2]])


def test_procrustes_weights_come_from_the_mediapipe_metadata():
    weights = canonical_mesh()["procrustes_weights"]
    assert weights.shape == (468,) and (weights > 0).sum() == 33 and (weights >= 0).all()


@pytest.mark.parametrize("ypr", [(0, 0, 0), (40, -15, 10), (-75, 20, -25), (10, 45, 5)])
def test_fit_recovers_pose_scale_and_position_of_an_exact_mesh(ypr):
    fit = fit_pose(image_landmarks(ypr))
    np.testing.assert_allclose(fit.angles, ypr, atol=1e-6)
    assert fit.scale == pytest.approx(4.0)
    assert fit.residual < 1e-6
    vertices = canonical_mesh()["vertices"]
    np.testing.assert_allclose(fit.project(vertices), image_landmarks(ypr)[:, :2], atol=1e-6)


def test_fit_is_robust_to_landmark_noise_and_reports_it_in_the_residual():
    ypr = (30, 10, -5)
    fit = fit_pose(image_landmarks(ypr, noise=1.0))
    assert geodesic_deg(fit.rotation, euler_to_matrix(*ypr)) < 2.0
    assert 0.1 < fit.residual < 0.5  # ~1 px of noise at 4 px/cm


def test_fit_rejects_missing_or_non_finite_landmarks():
    with pytest.raises(ValueError, match="468"):
        fit_pose(np.zeros((68, 3)))
    bad = image_landmarks((0, 0, 0))
    bad[5, 1] = np.nan
    with pytest.raises(ValueError, match="finite"):
        fit_pose(bad)
