"""Choosing subsets: subject-disjoint splits and the angle-stratified calibration set."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from headpose.angles import NUM_BINS, angle_to_bin
from headpose.config import Config, knob
from headpose.data.faceset import FaceSet
from headpose.errors import ConfigError, DatasetError


@dataclass(frozen=True)
class SplitConfig(Config, section="split"):
    """``split``: fractions per split name (train, val and test at least; each in [0, 1], summing to 1)
    and the shuffle seed. ``fractions`` is required."""

    fractions: dict[str, float] = knob({})
    seed: int = knob(0, lo=0)

    def check(self) -> None:
        if not {"train", "val", "test"} <= set(self.fractions):
            raise self.problem("fractions", f"needs train, val and test, got {sorted(self.fractions)}")
        for name, fraction in self.fractions.items():
            if not 0.0 <= fraction <= 1.0:
                raise self.problem(f"fractions.{name}", f"{fraction!r} is outside [0.0, 1.0]")
        if not np.isclose(sum(self.fractions.values()), 1.0):
            raise self.problem("fractions", f"must sum to 1, got {self.fractions}")


@dataclass(frozen=True)
class CalibrationConfig(Config, section="calibration"):
    """``calibration``: how many training samples the INT8 calibration set takes, and its seed."""

    size: int = knob(512, lo=1)
    seed: int = knob(0, lo=0)


def split_by_subject(faceset: FaceSet, fractions: dict[str, float], seed: int) -> dict[str, FaceSet]:
    """Split so that no subject (identity) appears in two splits; sizes follow ``fractions``."""
    total = sum(fractions.values())
    if not np.isclose(total, 1.0) or any(f < 0 for f in fractions.values()):
        raise ConfigError(f"split.fractions must be non-negative and sum to 1, got {fractions}")
    subjects = faceset.labels["subject"].astype(str).to_numpy()
    unique = np.unique(subjects)
    if len(unique) < len(fractions):
        raise DatasetError(f"{len(unique)} subjects cannot fill {len(fractions)} subject-disjoint splits")
    rng = np.random.default_rng(seed)
    rng.shuffle(unique)
    bounds = np.round(np.cumsum([0.0, *fractions.values()]) * len(unique)).astype(int)
    splits = {}
    for (name, _), lo, hi in zip(fractions.items(), bounds[:-1], bounds[1:]):
        splits[name] = faceset.subset(np.flatnonzero(np.isin(subjects, unique[lo:hi])))
    return splits


def stratified_calibration(faceset: FaceSet, size: int, seed: int) -> FaceSet:
    """Pick ``size`` samples spread evenly over the yaw bins (INT8 ranges must see profiles too).

    Each non-empty 3° yaw bin gets an equal quota; bins with too few samples give theirs to the rest.
    """
    if size > len(faceset):
        raise DatasetError(f"calibration size {size} exceeds the {len(faceset)} samples available")
    rng = np.random.default_rng(seed)
    bins = angle_to_bin(faceset.angles[:, 0])
    members = [rng.permutation(np.flatnonzero(bins == b)) for b in range(NUM_BINS)]
    chosen: list[np.ndarray] = []
    remaining = size
    for i, idx in enumerate(sorted(members, key=len)):  # smallest bins first, so leftovers flow on
        quota = remaining // (NUM_BINS - i)
        take = idx[:quota]
        chosen.append(take)
        remaining -= len(take)
    return faceset.subset(np.sort(np.concatenate(chosen)))
