"""Parameter blocks are parsed once, before any work: types, ranges, unknown keys, unknown sections."""

import copy
from pathlib import Path

import pytest
from kedro.config import OmegaConfigLoader

from headpose.compression.distillation import DistillConfig
from headpose.compression.shipping import QuantizeConfig
from headpose.errors import ConfigError
from headpose.parameters import parse_parameters, section_files, section_types
from headpose.settings import CONFIG_LOADER_ARGS

CONF = Path(__file__).resolve().parents[1] / "conf"
FILES = section_files(CONF)


@pytest.fixture(scope="module")
def base_params():
    return OmegaConfigLoader(str(CONF), **CONFIG_LOADER_ARGS)["parameters"]  # conf/local is git-ignored


@pytest.mark.parametrize("env", ["base", "real", "test", "gpu"])
def test_every_shipped_profile_parses(env):
    params = OmegaConfigLoader(str(CONF), env=None if env == "base" else env, **CONFIG_LOADER_ARGS)
    parse_parameters(params["parameters"], FILES, FILES)


def test_every_base_section_but_the_untyped_ones_comes_out_as_its_config_type(base_params):
    typed = parse_parameters(base_params, FILES, FILES)
    assert isinstance(typed["distill"], DistillConfig) and isinstance(typed["quantize"], QuantizeConfig)
    assert typed["quantize"].ptq.variants["trt"].symmetric_activations is True  # nested blocks parsed too
    assert typed["train"].augment == base_params["augment"]  # the teacher trains with the augment block
    assert set(section_types()) | {"real_datasets", "mix"} == set(FILES)
    assert typed["mix"] == base_params["mix"]  # no type: stays a mapping


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda p: p.update(synht={"num_images": 3}), "unknown section 'synht'; did you mean 'synth'?"),
        (
            lambda p: p["split"].update(seed="abc"),
            "split.seed: expected an integer, got 'abc' (in conf/<env>/parameters_data.yml)",
        ),
        (lambda p: p["split"].update(sed=1), "split.sed: unknown key; did you mean 'seed'?"),
        (
            lambda p: p["split"].update(fractions={"train": 0.9, "val": 0.2, "test": 0.1}),
            "split.fractions: must sum to 1",
        ),
        (lambda p: p["calibration"].update(size=-1), "calibration.size: -1 is outside [1, inf]"),
        (lambda p: p["calibration"].update(sizes=3), "calibration.sizes: unknown key; did you mean 'size'?"),
        (lambda p: p["synth"].update(image_size=0), "synth.image_size"),
        (lambda p: p["synth"].update(num_images="many"), "synth.num_images"),
        (lambda p: p["profile"]["render"].update(background="photos"), "profile.background"),
        (lambda p: p["profile"].update(per_faces=2), "profile: unknown keys ['per_faces']"),
        (
            lambda p: p["train"].update(lr="fast"),
            "train.lr: expected a number, got 'fast' (in conf/<env>/parameters_train.yml)",
        ),
        (
            lambda p: p["prune"].update(target_macs_ratio=1.5),
            "prune.target_macs_ratio: 1.5 is outside [0.0, 1.0] (in conf/<env>/parameters_prune.yml)",
        ),
        (
            lambda p: p["distill"].update(temprature=2),
            "distill.temprature: unknown key; did you mean 'temperature'?",
        ),
        (lambda p: p["distill"]["latency"].update(runs=0), "distill.latency.runs: 0 is outside [1, inf]"),
        (
            lambda p: p["quantize"]["ptq"]["variants"]["cpu"].update(weight_type="int4"),
            "quantize.ptq.variants.cpu.weight_type: 'int4' is not one of ['uint8', 'int8'] "
            "(in conf/<env>/parameters_quantize.yml)",
        ),
        (
            lambda p: p["quantize"].update(require_int8="yes"),
            "quantize.require_int8: expected true or false, got 'yes'",
        ),
        (lambda p: p.update(quantize=3), "quantize: expected a mapping of parameters, got 3"),
        (
            lambda p: p["export"]["models"][0].update(kind="tflite"),
            "export.models[0].kind: 'tflite' is not one of",
        ),
        (lambda p: p["benchmark"]["cuda"].update(streams=0), "benchmark.cuda.streams: 0 is outside [1, inf]"),
        (
            lambda p: p["register"]["gates"].update(mae_metric="best"),
            "register.gates.mae_metric: 'best' is not one of",
        ),
        (
            lambda p: p["build"]["profile"].update(opt_batch=256),
            "build.profile.opt_batch: need 1 <= min_batch <= opt_batch <= max_batch, got 1, 256, 128",
        ),
        (
            lambda p: p["build"]["engines"][0].update(precision="int4"),
            "build.engines[0].precision: 'int4' is not one of",
        ),
    ],
)
def test_a_bad_block_names_the_key_and_its_file(base_params, edit, message):
    params = copy.deepcopy(dict(base_params))
    edit(params)
    with pytest.raises(ConfigError) as info:
        parse_parameters(params, FILES, FILES)
    assert message in str(info.value)
    if "unknown section" not in message:
        assert "(in conf/<env>/parameters_" in str(info.value)
