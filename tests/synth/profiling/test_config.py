import numpy as np
import pytest

from headpose.errors import ConfigError
from headpose.synth.profiling.config import ProfileConfig, sample_target


def test_targets_respect_the_yaw_range_and_minimum_turn():
    config = ProfileConfig(min_yaw_delta=20.0, pitch_delta_range=(-5.0, 5.0))
    rng = np.random.default_rng(1)
    targets = np.array([sample_target((30.0, 10.0, -7.0), rng, config) for _ in range(300)])
    assert (np.abs(targets[:, 0]) <= 99).all() and np.abs(targets[:, 0]).max() > 90
    assert (np.abs(targets[:, 0] - 30) >= 20).all() and (np.abs(targets[:, 0] + 30) >= 20).all()
    assert (np.abs(targets[:, 1] - 10) <= 5).all() and (targets[:, 2] == -7).all()


@pytest.mark.parametrize(
    "params, key",
    [
        ({"bogus": 1}, "bogus"),
        ({"image_size": 4}, "image_size"),
        ({"yaw_range": [10, -10]}, "yaw_range"),
        ({"mirror": 1}, "mirror"),
        ({"background": "photos"}, "background"),
        ({"crop_margin": "wide"}, "crop_margin"),
    ],
)
def test_bad_config_raises_config_error_naming_the_key(params, key):
    with pytest.raises(ConfigError, match=key):
        ProfileConfig.from_dict(params)
