"""Choosing subsets: subject-disjoint splits and the angle-stratified calibration set."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from headpose.angles import angle_to_bin, NUM_BINS
from headpose.data.faceset import FaceSet
from headpose.errors import ConfigError, DatasetError, reject_unknown_keys


def _integer(section: str, key: str, value: Any, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise ConfigError(f"{section}.{key}: expected an integer >= {lo}, got {value!r}")
    return value


@dataclass(frozen=True)
class SplitConfig:
    """``split``: fractions per split name (non-negative, summing to 1) and the shuffle seed."""

    fractions: Mapping[str, float]
    seed: int = 0

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> SplitConfig:
        raw = dict(raw or {})
        reject_unknown_keys("split", raw, cls)
        fractions = raw.get("fractions")
        if not isinstance(fractions, Mapping) or not fractions or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in fractions.values()):
            raise ConfigError(f"split.fractions: expected a mapping of split name to a fraction >= 0, got {fractions!r}")
        if not {"train", "val", "test"} <= set(fractions):
            raise ConfigError(f"split.fractions: needs train, val and test, got {sorted(fractions)}")
        if not np.isclose(sum(fractions.values()), 1.0):
            raise ConfigError(f"split.fractions: must sum to 1, got {dict(fractions)}")
        return cls(dict(fractions), _integer("split", "seed", raw.get("seed", 0), 0))


@dataclass(frozen=True)
class CalibrationConfig:
    """``calibration``: how many training samples the INT8 calibration set takes, and its seed."""

    size: int = 512
    seed: int = 0

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> CalibrationConfig:
        raw = dict(raw or {})
        reject_unknown_keys("calibration", raw, cls)
        return cls(_integer("calibration", "size", raw.get("size", 512), 1),
                   _integer("calibration", "seed", raw.get("seed", 0), 0))


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
