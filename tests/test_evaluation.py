import numpy as np
import pytest

from headpose.evaluation import euler_mae_floor, pose_metrics


def test_pose_metrics_on_hand_computed_errors():
    true = np.array([[10.0, 0.0, 0.0], [70.0, 5.0, -5.0]])
    pred = np.array([[12.0, 3.0, -1.0], [60.0, 5.0, -5.0]])
    m = pose_metrics(pred, true)
    assert (m["yaw"], m["pitch"], m["roll"]) == pytest.approx((6.0, 1.5, 0.5))
    assert m["mae"] == pytest.approx(8.0 / 3.0)
    assert m["mae_yaw_0_30"] == pytest.approx(2.0) and m["mae_yaw_60_99"] == pytest.approx(10.0 / 3.0)
    assert "mae_yaw_30_60" not in m
    assert m["geodesic_median"] > 0


def test_euler_floor_is_zero_without_rotation_error_and_grows_with_it():
    true = np.random.default_rng(1).uniform(-60, 60, (400, 3))
    floors = [euler_mae_floor(true, g) for g in (0.0, 1.0, 3.0)]
    assert floors[0] == pytest.approx(0.0, abs=1e-9)
    assert 0 < floors[1] < floors[2]


def test_near_profile_labels_turn_a_small_rotation_error_into_a_large_euler_error():
    rng = np.random.default_rng(2)
    frontal = np.column_stack([rng.uniform(-20, 20, 300), rng.uniform(-30, 30, 300), rng.uniform(-30, 30, 300)])
    profile = frontal + [88.0, 0.0, 0.0]
    assert euler_mae_floor(frontal, 2.0) < 1.5  # about 2/3 of 2 deg spread over three angles
    assert euler_mae_floor(profile, 2.0) > 3 * euler_mae_floor(frontal, 2.0)


def test_labels_past_90_yaw_are_read_on_their_own_branch():
    true = np.array([[95.0, 20.0, 10.0], [-98.0, -30.0, 40.0]])
    assert euler_mae_floor(true, 0.0) == pytest.approx(0.0, abs=1e-9)
