"""The training mix: synthetic heads, pseudo-labelled photos and profiled photos in set proportions."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from headpose.data.faceset import FaceSet
from headpose.errors import ConfigError


def mix_sources(sources: Mapping[str, FaceSet], ratios: Mapping[str, float], size: int | None, seed: int) -> FaceSet:
    """One FaceSet holding ``ratios[name] * size`` images of each source (ratios are normalised).

    ``size: None`` keeps the total of the active sources (a single source is kept whole). A source with more images than its share is subsampled without replacement;
    one with fewer is repeated. Empty sources and zero ratios drop out; provenance columns stay.
    """
    unknown = set(ratios) - set(sources)
    if unknown:
        raise ConfigError(f"mix.ratios: unknown sources {sorted(unknown)}; known: {sorted(sources)}")
    for name, ratio in ratios.items():
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not ratio >= 0:
            raise ConfigError(f"mix.ratios.{name}: must be a number >= 0, got {ratio!r}")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise ConfigError(f"mix.size: must be a positive integer or null, got {size!r}")
    active = {n: float(r) for n, r in ratios.items() if r > 0 and len(sources[n])}
    if not active:
        raise ConfigError(f"mix: no source has both a ratio > 0 and images (ratios {dict(ratios)}, "
                          f"sizes { {n: len(s) for n, s in sources.items()} })")
    total = sum(active.values())
    shares = {n: r / total for n, r in active.items()}
    if size is None:
        size = sum(len(sources[n]) for n in shares)
    rng = np.random.default_rng(seed)
    parts = []
    for name, share in shares.items():
        source, count = sources[name], max(1, round(share * size))
        index = rng.choice(len(source), count, replace=count > len(source))
        parts.append(source.subset(np.sort(index)))
    return FaceSet.concat(parts)
