"""Profile stage nodes: pseudo-labelled photos re-rendered at new poses (300W-LP's face profiling)."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from headpose.data.faceset import FaceSet
from headpose.synth.profiling.rotate import preview_figure, profile_faceset
from headpose.visualize import message_figure


def profile_photos(faces: FaceSet, profile: dict[str, Any]) -> tuple[FaceSet, Figure]:
    """``profile.per_face`` renders of every pseudo-labelled face at sampled large poses, and a preview.

    ``profile["render"]`` is the parsed ProfileConfig (headpose.parameters)."""
    config = profile["render"]
    if not len(faces):
        return FaceSet.empty(config.image_size), message_figure("no pseudo-labelled faces to profile")
    profiled = profile_faceset(faces, config, per_face=profile["per_face"], seed=profile["seed"])
    sample = np.linspace(0, len(faces) - 1, min(profile["preview_faces"], len(faces))).round().astype(int)
    return profiled, preview_figure(faces.subset(sample), n=len(sample), config=config, seed=profile["seed"])
