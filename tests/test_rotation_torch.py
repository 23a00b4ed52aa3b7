import numpy as np
import pytest
import torch

from headpose import angles
from headpose.rotation_torch import bins_to_degrees, euler_to_matrix, matrix_to_euler, rotation_6d_to_matrix


@pytest.fixture
def ypr() -> np.ndarray:
    rng = np.random.default_rng(0)
    # |yaw| < 90: the range where angles.matrix_to_euler inverts euler_to_matrix.
    return rng.uniform([-89, -99, -99], [89, 99, 99], size=(200, 3))


def test_euler_to_matrix_matches_angles_module(ypr):
    expected = angles.euler_to_matrix(ypr[:, 0], ypr[:, 1], ypr[:, 2])
    np.testing.assert_allclose(euler_to_matrix(torch.from_numpy(ypr)).numpy(), expected, atol=1e-12)


def test_matrix_to_euler_matches_angles_module(ypr):
    rotations = angles.euler_to_matrix(ypr[:, 0], ypr[:, 1], ypr[:, 2])
    np.testing.assert_allclose(
        matrix_to_euler(torch.from_numpy(rotations)).numpy(), angles.matrix_to_euler(rotations), atol=1e-9
    )
    np.testing.assert_allclose(matrix_to_euler(torch.from_numpy(rotations)).numpy(), ypr, atol=1e-9)


def test_positive_roll_is_a_clockwise_rotation_about_the_optical_axis():
    # R = Rz(-roll): a +90 degree roll sends x to -y.
    rotation = euler_to_matrix(torch.tensor([0.0, 0.0, 90.0], dtype=torch.float64))
    np.testing.assert_allclose(rotation.numpy() @ [1, 0, 0], [0, -1, 0], atol=1e-12)


def test_6d_of_a_rotations_first_two_columns_gives_back_the_rotation(ypr):
    rotations = torch.from_numpy(angles.euler_to_matrix(ypr[:, 0], ypr[:, 1], ypr[:, 2]))
    six_d = torch.cat([rotations[..., 0], rotations[..., 1]], -1)
    np.testing.assert_allclose(rotation_6d_to_matrix(six_d).numpy(), rotations.numpy(), atol=1e-12)


def test_6d_of_any_vector_is_a_proper_rotation():
    six_d = torch.randn(100, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    r = rotation_6d_to_matrix(six_d)
    np.testing.assert_allclose(
        (r.transpose(-1, -2) @ r).numpy(), np.broadcast_to(np.eye(3), r.shape), atol=1e-12
    )
    np.testing.assert_allclose(torch.linalg.det(r).numpy(), 1.0, atol=1e-12)


def test_bins_to_degrees_is_the_expected_bin_centre():
    logits = torch.full((2, angles.NUM_BINS), -1e4, dtype=torch.float64)
    logits[0, 40] = 0.0  # all mass on bin 40
    logits[1, [10, 11]] = 0.0  # half on bin 10, half on bin 11
    expected = [angles.BIN_CENTERS_DEG[40], (angles.BIN_CENTERS_DEG[10] + angles.BIN_CENTERS_DEG[11]) / 2]
    np.testing.assert_allclose(bins_to_degrees(logits).numpy(), expected, atol=1e-9)
    assert bins_to_degrees(torch.zeros(angles.NUM_BINS)).item() == pytest.approx(0.0, abs=1e-5)
