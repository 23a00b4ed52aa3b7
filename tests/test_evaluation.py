import numpy as np
import pytest

from headpose.evaluation import (
    as_mlflow_metrics,
    euler_mae_floor,
    faceset_mae,
    faceset_metrics,
    latency_vs_mae_figure,
    pose_metrics,
)
from tests.conftest import make_faceset


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
    frontal = np.column_stack(
        [rng.uniform(-20, 20, 300), rng.uniform(-30, 30, 300), rng.uniform(-30, 30, 300)]
    )
    profile = frontal + [88.0, 0.0, 0.0]
    assert euler_mae_floor(frontal, 2.0) < 1.5  # about 2/3 of 2 deg spread over three angles
    assert euler_mae_floor(profile, 2.0) > 3 * euler_mae_floor(frontal, 2.0)


def test_labels_past_90_yaw_are_read_on_their_own_branch():
    true = np.array([[95.0, 20.0, 10.0], [-98.0, -30.0, 40.0]])
    assert euler_mae_floor(true, 0.0) == pytest.approx(0.0, abs=1e-9)


def test_faceset_mae_is_the_mean_of_the_three_angle_errors_and_none_without_a_set():
    faces = make_faceset(n=6, size=32)
    metrics = faceset_metrics(lambda batch: np.zeros((len(batch), 3), np.float32), faces, 32)
    assert metrics["mae"] == pytest.approx(np.abs(faces.angles).mean())
    assert faceset_mae(lambda batch: np.zeros((len(batch), 3), np.float32), faces, 32) == metrics["mae"]
    assert faceset_mae(lambda batch: batch, None, 32) is None
    assert faceset_metrics(lambda batch: batch, faces.subset(np.arange(0)), 32) is None


def test_mlflow_metrics_flatten_nested_rows_and_keep_only_numbers():
    metrics = as_mlflow_metrics(
        {
            "teacher": {
                "mae": 5,
                "precision": "fp32",
                "mae_real": None,
                "ok": True,
                "throughput": {"b1": np.float32(2.5)},
            },
            "gain_deg": 0.5,
        }
    )
    assert metrics == {
        "teacher.mae": {"value": 5.0, "step": 0},
        "teacher.throughput.b1": {"value": 2.5, "step": 0},
        "gain_deg": {"value": 0.5, "step": 0},
    }


def test_latency_vs_mae_plots_one_point_per_row_and_logs_a_wide_latency_range():
    rows = {
        "a": {"ms": 0.1, "mae": 5.0, "backend": "onnxruntime"},
        "b": {"ms": 10.0, "mae": 4.0, "backend": "pytorch"},
    }
    fig = latency_vs_mae_figure(rows, "ms", "mae", "t", highlight="b", marker_key="backend")
    ax = fig.axes[0]
    assert len(ax.collections) == 2 and ax.get_xscale() == "log"
    assert sorted(t.get_text() for t in ax.texts) == ["a", "b (ships)"] and ax.get_legend() is not None
    assert latency_vs_mae_figure({"a": rows["a"]}, "ms", "mae", "t").axes[0].get_xscale() == "linear"
