import numpy as np
import pytest

from headpose.errors import ConfigError
from headpose.inference.smoothing import (
    FaceTracker,
    OneEuroFilter,
    SmoothingConfig,
    iou_matrix,
    smoothing_effect,
)

FPS = 30.0


def run(filt: OneEuroFilter, signal: np.ndarray) -> np.ndarray:
    return np.array([filt(i / FPS, x) for i, x in enumerate(signal)])


def test_one_euro_reduces_jitter_on_a_noisy_constant_signal():
    rng = np.random.default_rng(0)
    signal = 20.0 + rng.normal(0, 2.0, (300, 3))
    out = run(OneEuroFilter(), signal)
    settled = out[30:]
    assert settled.std(0).max() < 0.5 * signal[30:].std(0).min()
    assert np.abs(settled.mean(0) - 20.0).max() < 0.5
    # Frame-to-frame jitter, what a viewer sees, drops even more.
    assert np.abs(np.diff(settled, axis=0)).mean() < 0.2 * np.abs(np.diff(signal[30:], axis=0)).mean()


def test_one_euro_follows_a_step_quickly_and_without_overshoot():
    signal = np.r_[np.zeros(30), np.full(60, 40.0)][:, None]
    out = run(OneEuroFilter(), signal)[:, 0]
    assert out[30] > 0  # starts moving on the first new sample
    assert abs(out[30 + 5] - 40.0) < 2.0  # within 2 deg after 5 frames
    assert out.max() <= 40.0 + 1e-9


def test_beta_trades_jitter_for_lag():
    signal = np.r_[np.zeros(30), np.full(30, 40.0)][:, None]
    slow = run(OneEuroFilter(min_cutoff=1.0, beta=0.0), signal)[35, 0]
    fast = run(OneEuroFilter(min_cutoff=1.0, beta=0.1), signal)[35, 0]
    assert fast > slow + 5


def test_angles_are_smoothed_across_the_180_degree_wrap():
    signal = np.array([[179.0], [-179.0]] * 20)
    out = run(OneEuroFilter(period=360.0), signal)[:, 0]
    assert np.all(np.abs(out) > 175)  # near +-180, never pulled through 0
    assert np.all((out > -180) & (out <= 180))


def test_iou_matrix():
    a = np.array([[0, 0, 10, 10], [100, 100, 110, 110]])
    b = np.array([[5, 0, 15, 10]])
    np.testing.assert_allclose(iou_matrix(a, b), [[50 / 150], [0.0]])


def test_tracker_keeps_ids_of_moving_faces_and_smooths_each_separately():
    tracker = FaceTracker(SmoothingConfig(), iou_threshold=0.3)
    rng = np.random.default_rng(1)
    ids_seen, yaws = [], []
    for i in range(60):
        boxes = np.array([[10 + i, 10, 60 + i, 60], [200 - i, 50, 250 - i, 100]], float)
        angles = np.array([[30.0, 0, 0], [-30.0, 0, 0]]) + rng.normal(0, 3, (2, 3))
        if i % 2:  # present the faces in the other order: ids must follow the boxes, not the order
            boxes, angles = boxes[::-1], angles[::-1]
        ids, smoothed, _ = tracker.update(i / FPS, boxes, angles)
        order = [1, 0] if i % 2 else [0, 1]
        ids_seen.append([ids[order.index(0)], ids[order.index(1)]])
        yaws.append([smoothed[order.index(0), 0], smoothed[order.index(1), 0]])
    assert all(pair == ids_seen[0] for pair in ids_seen)
    assert ids_seen[0][0] != ids_seen[0][1]
    yaws = np.array(yaws[10:])
    assert np.abs(yaws[:, 0] - 30).max() < 4 and np.abs(yaws[:, 1] + 30).max() < 4  # no cross-talk


def test_tracker_ends_tracks_after_max_missed_frames():
    tracker = FaceTracker(None, max_missed=2)
    box = np.array([[0, 0, 50, 50]], float)
    (first,), _, _ = tracker.update(0.0, box, np.zeros((1, 3)))
    for t in range(1, 3):  # missed twice: still alive
        tracker.update(t, np.zeros((0, 4)), np.zeros((0, 3)))
    (again,), _, _ = tracker.update(3.0, box, np.zeros((1, 3)))
    assert again == first
    for t in range(4, 7):  # missed three times: gone
        tracker.update(t, np.zeros((0, 4)), np.zeros((0, 3)))
    (new,), angles, _ = tracker.update(7.0, box, np.full((1, 3), 5.0))
    assert new != first
    np.testing.assert_allclose(angles, 5.0)  # no smoothing configured: raw angles


def test_smoothing_config_rejects_impossible_values():
    with pytest.raises(ConfigError, match="min_cutoff"):
        SmoothingConfig(min_cutoff=0)
    with pytest.raises(ConfigError, match="beta"):
        SmoothingConfig(beta=-1)


def test_smoothing_effect_measures_less_jitter_and_a_small_lag_on_a_noisy_turn():
    rng = np.random.default_rng(0)
    times = np.arange(250) / 25.0  # 10 s at 25 fps
    turn = np.stack(
        [40 * np.sin(2 * np.pi * 0.3 * times), 10 * np.sin(2 * np.pi * 0.2 * times), 0 * times], 1
    )
    effect = smoothing_effect(times, turn + rng.normal(0, 1.0, turn.shape), SmoothingConfig())
    assert effect["frames"] == 250
    assert effect["jitter_kept"] < 0.3  # most of the frame-to-frame noise is gone
    assert all(s < r for s, r in zip(effect["jitter_smoothed"], effect["jitter_raw"], strict=True))
    assert 0 < effect["lag_frames"] < 3 and effect["lag_ms"] == pytest.approx(
        40 * effect["lag_frames"], abs=0.1
    )
    # a slower filter (lower cut-off at rest, no speed gain) lags more
    slow = smoothing_effect(times, turn, SmoothingConfig(min_cutoff=0.2, beta=0.0))
    assert slow["lag_frames"] > smoothing_effect(times, turn, SmoothingConfig())["lag_frames"]
    with pytest.raises(ValueError, match="need at least"):
        smoothing_effect(times[:5], turn[:5], SmoothingConfig())
