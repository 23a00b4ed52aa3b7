import numpy as np
import pytest

from headpose import angles


@pytest.mark.parametrize("ypr", [(30, 20, 10), (-80, 45, -60), (5, -85, 30), (0, 0, 0), (89, -10, 170)])
def test_matrix_round_trip_recovers_angles_within_the_principal_range(ypr):
    rotation = angles.euler_to_matrix(*ypr)
    assert np.allclose(angles.matrix_to_euler(rotation), ypr, atol=1e-9)


def test_beyond_90_yaw_round_trips_to_the_same_rotation():
    rotation = angles.euler_to_matrix(95, 20, 10)
    back = angles.euler_to_matrix(*angles.matrix_to_euler(rotation))
    assert np.allclose(back, rotation, atol=1e-9)


def test_positive_yaw_turns_the_face_toward_image_left_and_positive_pitch_up():
    forward = np.array([0.0, 0.0, 1.0])  # the face normal at identity (toward the camera)
    assert (angles.euler_to_matrix(30, 0, 0) @ forward)[0] < 0  # x right: negative = image left
    assert (angles.euler_to_matrix(0, 30, 0) @ forward)[1] > 0  # y up


def test_matches_the_aflw2000_pose_para_definition():
    pitch, yaw, roll = 0.3, -0.5, 0.2  # Pose_Para order, radians
    ypr = angles.aflw_pose_para_to_ypr(np.array([pitch, yaw, roll, 0, 0, 0, 1.0]))
    assert np.allclose(ypr, np.rad2deg([yaw, pitch, roll]))

    def rx(a):
        return np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])

    def ry(a):
        return np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])

    def rz(a):
        return np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])

    assert np.allclose(angles.euler_to_matrix(*ypr), rx(-pitch) @ ry(-yaw) @ rz(-roll))


def test_flip_negates_yaw_and_roll_only():
    assert np.allclose(angles.flip_horizontal([10.0, 20.0, 30.0]), [-10, 20, -30])


def test_in_plane_rotation_of_a_frontal_face_is_pure_roll():
    assert np.allclose(angles.rotate_in_plane(np.zeros(3), 25.0), [0, 0, -25], atol=1e-9)


def test_in_plane_rotation_then_inverse_restores_angles():
    ypr = np.array([40.0, -20.0, 15.0])
    assert np.allclose(angles.rotate_in_plane(angles.rotate_in_plane(ypr, 30), -30), ypr, atol=1e-9)


def test_bins_cover_minus_99_to_99_in_3_degree_steps():
    assert angles.NUM_BINS == 66 and angles.BIN_WIDTH_DEG == 3
    assert list(angles.angle_to_bin([-99, -96.01, 0, 98.9, 120])) == [0, 0, 33, 65, 65]
    assert angles.BIN_CENTERS_DEG[angles.angle_to_bin(10.0)] == pytest.approx(10.5)


def test_geodesic_of_a_90_degree_turn():
    assert angles.geodesic_deg(
        angles.euler_to_matrix(0, 0, 0), angles.euler_to_matrix(90, 0, 0)
    ) == pytest.approx(90)


@pytest.mark.parametrize("ypr", [(95, 20, 10), (-97, -40, 60), (30, 0, 0)])
def test_the_equivalent_triple_is_the_same_rotation_on_the_other_yaw_branch(ypr):
    other = angles.equivalent_euler(ypr)
    assert np.allclose(angles.euler_to_matrix(*other), angles.euler_to_matrix(*ypr), atol=1e-9)
    assert np.sign(other[0]) == np.sign(ypr[0]) and abs(other[0]) == pytest.approx(180 - abs(ypr[0]))


def test_axis_angle_about_z_is_the_in_plane_rotation():
    turn = angles.axis_angle_to_matrix(np.array([0.0, 0.0, 2.0]), 30.0)
    assert np.allclose(turn, angles._rz(np.deg2rad(30.0)), atol=1e-12)
    assert angles.geodesic_deg(
        np.eye(3), angles.axis_angle_to_matrix(np.array([1.0, -2.0, 0.5]), 7.0)
    ) == pytest.approx(7.0)
