"""The training mix: synthetic heads, pseudo-labelled photos and profiled photos in set proportions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from headpose.config import Config, knob
from headpose.data.faceset import FaceSet
from headpose.errors import ConfigError


@dataclass(frozen=True)
class MixConfig(Config, section="mix"):
    """``mix``: each source's share (normalised over the active sources), the total size (None: the
    active sources' total) and the subsampling seed."""

    ratios: dict[str, float] = knob({})
    size: int | None = knob(None, lo=1)
    seed: int = knob(0, lo=0)

    def check(self) -> None:
        for name, ratio in self.ratios.items():
            if not ratio >= 0:  # "not >=": NaN fails too
                raise self.problem(f"ratios.{name}", f"expected a number >= 0, got {ratio!r}")


def mix_sources(
    sources: Mapping[str, FaceSet], ratios: Mapping[str, float], size: int | None, seed: int
) -> FaceSet:
    """One FaceSet holding ``ratios[name] * size`` images of each source (ratios are normalised).

    ``size: None`` keeps the total of the active sources (a single source is kept whole). A source
    with more images than its share is subsampled without replacement; one with fewer is repeated.
    Empty sources and zero ratios drop out; provenance columns stay. Parameters are checked as a
    :class:`MixConfig`.
    """
    config = MixConfig(ratios=dict(ratios), size=size, seed=seed)
    unknown = set(config.ratios) - set(sources)
    if unknown:
        raise ConfigError(f"mix.ratios: unknown sources {sorted(unknown)}; known: {sorted(sources)}")
    active = {n: r for n, r in config.ratios.items() if r > 0 and len(sources[n])}
    if not active:
        raise ConfigError(
            f"mix: no source has both a ratio > 0 and images (ratios {config.ratios}, "
            f"sizes { {n: len(s) for n, s in sources.items()} })"
        )
    total = sum(active.values())
    shares = {n: r / total for n, r in active.items()}
    size = config.size if config.size is not None else sum(len(sources[n]) for n in shares)
    rng = np.random.default_rng(config.seed)
    parts = []
    for name, share in shares.items():
        source, count = sources[name], max(1, round(share * size))
        index = rng.choice(len(source), count, replace=count > len(source))
        parts.append(source.subset(np.sort(index)))
    return FaceSet.concat(parts)
