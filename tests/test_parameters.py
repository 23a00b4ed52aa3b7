"""Parameter blocks are checked before any work: types, ranges, unknown keys, unknown sections."""

import copy
from pathlib import Path

import pytest
from kedro.config import OmegaConfigLoader

from headpose.errors import ConfigError
from headpose.hooks import _section_files
from headpose.parameters import check_parameters
from headpose.settings import CONFIG_LOADER_ARGS

CONF = Path(__file__).resolve().parents[1] / "conf"


@pytest.fixture(scope="module")
def base_params():
    return OmegaConfigLoader(str(CONF), **CONFIG_LOADER_ARGS)["parameters"]  # conf/local is git-ignored


@pytest.mark.parametrize("env", ["base", "real", "test", "gpu"])
def test_every_shipped_profile_passes(env):
    params = OmegaConfigLoader(str(CONF), env=None if env == "base" else env, **CONFIG_LOADER_ARGS)
    check_parameters(params["parameters"], _section_files(CONF), _section_files(CONF))


@pytest.mark.parametrize("edit, message", [
    (lambda p: p.update(synht={"num_images": 3}), "unknown section 'synht'; did you mean 'synth'?"),
    (lambda p: p["split"].update(seed="abc"), "split.seed: expected an integer, got 'abc' (in conf/<env>/parameters_data.yml)"),
    (lambda p: p["split"].update(sed=1), "split.sed: unknown key; did you mean 'seed'?"),
    (lambda p: p["split"].update(fractions={"train": 0.9, "val": 0.2, "test": 0.1}), "split.fractions: must sum to 1"),
    (lambda p: p["calibration"].update(size=-1), "calibration.size: -1 is outside [1, inf]"),
    (lambda p: p["calibration"].update(sizes=3), "calibration.sizes: unknown key; did you mean 'size'?"),
    (lambda p: p["synth"].update(image_size=0), "synth.image_size"),
    (lambda p: p["synth"].update(num_images="many"), "synth.num_images"),
    (lambda p: p["profile"]["render"].update(background="photos"), "profile.background"),
    (lambda p: p["train"].update(lr="fast"), "train"),
    (lambda p: p.update(quantize={"ptq": {}}), "quantize: malformed block"),
])
def test_a_bad_block_names_the_key_and_its_file(base_params, edit, message):
    params = copy.deepcopy(dict(base_params))
    edit(params)
    with pytest.raises(ConfigError) as info:
        check_parameters(params, _section_files(CONF), _section_files(CONF))
    assert message in str(info.value)
