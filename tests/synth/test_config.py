from pathlib import Path

import numpy as np
import pytest

from headpose.errors import ConfigError
from headpose.synth.config import SynthConfig, random_stream


@pytest.mark.parametrize(
    "params, key",
    [
        ({"num_images": 0}, "synth.num_images"),
        ({"seed": "abc"}, "synth.seed"),
        ({"image_size": 12.5}, "synth.image_size"),
        ({"yaw_range": [30, -30]}, "synth.yaw_range"),
        ({"pitch_range": [-120, 0]}, "synth.pitch_range"),
        ({"occlusion_probability": 1.5}, "synth.occlusion_probability"),
        ({"workers": 0}, "synth.workers"),
        ({"light_max_angle": True}, "synth.light_max_angle"),
        ({"colour": "red"}, "synth.colour"),
    ],
)
def test_config_errors_name_the_key(params, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        SynthConfig.from_dict(params)


def test_the_project_parameters_are_a_valid_config():
    yaml = pytest.importorskip("yaml")
    path = Path(__file__).resolve().parents[2] / "conf" / "base" / "parameters_data.yml"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    config = SynthConfig.from_dict(yaml.safe_load(path.read_text())["synth"])
    assert config.num_images > 0 and config.yaw_range[1] <= 99


def test_a_null_std_means_uniform_and_a_bad_std_is_named():
    assert SynthConfig.from_dict({"pitch_std": None}).pitch_std is None
    with pytest.raises(ConfigError, match="synth.roll_std"):
        SynthConfig.from_dict({"roll_std": "wide"})


def test_random_streams_depend_on_seed_and_key_only():
    draw = lambda seed, *key: random_stream(seed, *key).random(4)  # noqa: E731
    np.testing.assert_array_equal(draw(3, 1, 7), draw(3, 1, 7))
    assert len({tuple(draw(*args)) for args in ((3, 1, 7), (4, 1, 7), (3, 0, 7), (3, 1, 8))}) == 4
