import numpy as np
import pandas as pd
import pytest

from headpose.angles import NUM_BINS, angle_to_bin
from headpose.data.faceset import FaceSet
from headpose.data.splits import split_by_subject, stratified_calibration
from headpose.errors import ConfigError

from tests.conftest import make_faceset


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
    yaw = np.concatenate([np.random.default_rng(0).normal(0, 20, n - NUM_BINS), np.linspace(-98, 98, NUM_BINS)])
    yaw = np.clip(yaw, -99, 99)
    labels = pd.DataFrame({"yaw": yaw, "pitch": 0.0, "roll": 0.0, "subject": "s"})
    faces = FaceSet(np.zeros((n, 4, 4, 3), np.uint8), labels)
    calib = stratified_calibration(faces, 528, seed=0)
    counts = np.bincount(angle_to_bin(calib.angles[:, 0]), minlength=NUM_BINS)
    assert len(calib) == 528
    assert (counts >= 1).all()  # every yaw bin, even the rare profile ones
    assert counts.max() <= 528 // NUM_BINS + 20  # no bin dominates the way frontal faces would
