import numpy as np

from headpose.synth.config import SynthConfig
from headpose.synth.head_model import head_model
from headpose.synth.scene import sample_expression, sample_identity, sample_pose


def test_normal_pitch_and_roll_stay_in_range_and_concentrate_near_zero():
    config = SynthConfig.from_dict({"pitch_std": 20, "roll_std": 20, "large_angle_fraction": 0.0})
    ypr = sample_pose(config, np.random.default_rng(0), 4000)
    assert np.abs(ypr[:, 1:]).max() <= 90
    assert 15 < ypr[:, 1].std() < 25 and 15 < ypr[:, 2].std() < 25
    assert np.abs(ypr[:, 0]).max() > 95  # yaw stays uniform over +-99


def test_large_angles_are_drawn_beyond_the_threshold_inside_the_range():
    config = SynthConfig(
        yaw_range=(-99.0, 99.0),
        pitch_range=(-30.0, 70.0),
        roll_range=(-20.0, 20.0),
        large_angle_fraction=1.0,
        large_angle_threshold=50.0,
    )
    ypr = sample_pose(config, np.random.default_rng(1), 3000)
    beyond = np.abs(ypr) >= 50
    # roll's range has no part beyond +-50, so the images that picked roll keep a uniform draw.
    assert not beyond[:, 2].any()
    assert beyond[:, :2].any(1).mean() > 0.66 - 0.04
    assert (ypr[beyond[:, 1], 1] >= 50).all()  # pitch can only go past +50: -50 is outside its range


def test_an_identity_is_the_same_in_every_chunk_and_expressions_stay_plausible():
    config, model = SynthConfig(seed=4), head_model()
    a, b = sample_identity(config, model, 7), sample_identity(config, model, 7)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["shape"], sample_identity(config, model, 8)["shape"])
    expression = sample_expression(config, np.random.default_rng(0), model, 500)
    assert expression.shape == (500, model.num_expression)
    assert (expression[:, 0] >= 0).all() and expression[:, 3].min() >= -0.5 and expression[:, 3].max() <= 2.0
