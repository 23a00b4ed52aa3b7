import numpy as np
import pandas as pd
import pytest

from headpose.angles import NUM_BINS, angle_to_bin
from headpose.data.faceset import FaceSet
from headpose.data.splits import CalibrationConfig, SplitConfig, split_by_subject, stratified_calibration
from headpose.errors import ConfigError
from tests.conftest import make_faceset

EVEN = {"train": 0.8, "val": 0.1, "test": 0.1}


def test_split_keeps_subjects_disjoint_and_loses_nothing():
    faces = make_faceset(n=200, subjects=40)
    parts = split_by_subject(faces, {"train": 0.8, "val": 0.1, "test": 0.1}, seed=0)
    subjects = [set(p.labels["subject"]) for p in parts.values()]
    assert sum(len(p) for p in parts.values()) == 200
    assert not (subjects[0] & subjects[1] or subjects[0] & subjects[2] or subjects[1] & subjects[2])
    assert len(subjects[0]) == 32


def test_fractions_must_sum_to_one():
    with pytest.raises(ConfigError, match="sum to 1"):
        split_by_subject(make_faceset(), {"train": 0.8, "val": 0.3}, seed=0)


def test_calibration_covers_every_yaw_bin_evenly():
    n = 3000
    yaw = np.concatenate(
        [np.random.default_rng(0).normal(0, 20, n - NUM_BINS), np.linspace(-98, 98, NUM_BINS)]
    )
    yaw = np.clip(yaw, -99, 99)
    labels = pd.DataFrame({"yaw": yaw, "pitch": 0.0, "roll": 0.0, "subject": "s"})
    faces = FaceSet(np.zeros((n, 4, 4, 3), np.uint8), labels)
    calib = stratified_calibration(faces, 528, seed=0)
    counts = np.bincount(angle_to_bin(calib.angles[:, 0]), minlength=NUM_BINS)
    assert len(calib) == 528
    assert (counts >= 1).all()  # every yaw bin, even the rare profile ones
    assert counts.max() <= 528 // NUM_BINS + 20  # no bin dominates the way frontal faces would


def test_split_config_reads_the_block_and_names_a_bad_key():
    config = SplitConfig.from_dict({"fractions": EVEN, "seed": 7})
    assert config.fractions == EVEN and config.seed == 7
    assert CalibrationConfig.from_dict(None) == CalibrationConfig(size=512, seed=0)


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"fractions": {**EVEN, "val": 0.2}}, "split.fractions: must sum to 1"),
        (
            {"fractions": {**EVEN, "train": 1.2, "val": -0.3}},
            r"split.fractions.train: 1.2 is outside \[0.0, 1.0\]",
        ),
        (
            {"fractions": {"train": 0.9, "val": 0.1}},
            r"split.fractions: needs train, val and test, got \['train', ",
        ),
        ({}, "split.fractions: needs train, val and test"),
        ({"fractions": {**EVEN, "train": "most"}}, "split.fractions.train: expected a number"),
        ({"fractions": EVEN, "seed": -1}, r"split.seed: -1 is outside \[0, inf\]"),
        ({"fractions": EVEN, "sed": 1}, "split.sed: unknown key; did you mean 'seed'"),
    ],
)
def test_bad_split_blocks_name_the_key(raw, message):
    with pytest.raises(ConfigError, match=message):
        SplitConfig.from_dict(raw)


def test_bad_calibration_blocks_name_the_key():
    with pytest.raises(ConfigError, match=r"calibration.size: 0 is outside \[1, inf\]"):
        CalibrationConfig.from_dict({"size": 0})
    with pytest.raises(ConfigError, match="calibration.seed: expected an integer, got 'x'"):
        CalibrationConfig.from_dict({"seed": "x"})
