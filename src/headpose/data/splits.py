"""Choosing subsets: subject-disjoint splits and the angle-stratified calibration set."""

from __future__ import annotations

import numpy as np

from headpose.angles import angle_to_bin, NUM_BINS
from headpose.data.faceset import FaceSet
from headpose.errors import ConfigError, DatasetError


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
