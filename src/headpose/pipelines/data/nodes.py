"""Data stage nodes: thin wrappers over headpose.data / headpose.synth."""

from __future__ import annotations

import logging
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from headpose.data import aflw2000, biwi
from headpose.data.augment import AugmentConfig, build_augmentation
from headpose.data.faceset import FaceSet
from headpose.data.mix import mix_sources
from headpose.data.splits import CalibrationConfig, SplitConfig, split_by_subject, stratified_calibration
from headpose.errors import ConfigError
from headpose.evaluation import as_mlflow_metrics
from headpose.synth.config import SynthConfig
from headpose.synth.generate import generate
from headpose.visualize import angle_histograms, augmentation_preview

log = logging.getLogger(__name__)
ANGLES = ("yaw", "pitch", "roll")
READERS = {"aflw2000": aflw2000.read_aflw2000, "biwi": biwi.read_biwi}


def render_synthetic(synth: SynthConfig) -> FaceSet:
    """Render the synthetic 3D-head dataset (the default training data)."""
    return generate(synth, workers=synth.workers, progress=True)


def read_real_datasets(
    real_datasets: dict[str, dict[str, Any]], crop_size: int
) -> tuple[FaceSet, FaceSet, pd.DataFrame]:
    """Read every configured real dataset; ``role: train`` joins training, ``role: test`` is held out.

    Datasets with ``root: null`` are disabled. Returns (real_train, real_test, skip report).
    """
    empty = FaceSet.empty(crop_size)
    by_role: dict[str, list[FaceSet]] = {"train": [], "test": []}
    reports = []
    for name, cfg in (real_datasets or {}).items():
        if not cfg.get("root"):
            continue
        reader, role = cfg.get("reader", name), cfg.get("role", "test")
        if reader not in READERS or role not in by_role:
            raise ConfigError(
                f"real_datasets.{name}: reader must be one of {sorted(READERS)} and role train|test"
            )
        options = {k: v for k, v in cfg.items() if k not in ("reader", "role")}
        faces, report = READERS[reader](crop_size=crop_size, **options)
        log.info("real dataset %s: %d images (%d skipped)", name, len(faces), len(report))
        by_role[role].append(faces)
        reports.append(report.assign(dataset=name))
    train, test = (FaceSet.concat(sets) if sets else empty for sets in by_role.values())
    report = (
        pd.concat(reports, ignore_index=True)
        if reports
        else pd.DataFrame(columns=["file", "problem", "dataset"])
    )
    return train, test, report


def mix_training_data(
    synthetic: FaceSet, real_train: FaceSet, pseudolabel: FaceSet, profiled: FaceSet, mix: dict[str, Any]
) -> FaceSet:
    """All training-role data in the configured proportions (sources without images drop out)."""
    sources = {
        "synthetic": synthetic,
        "real_train": real_train,
        "pseudolabel": pseudolabel,
        "profiled": profiled,
    }
    pool = mix_sources(sources, mix["ratios"], mix["size"], mix["seed"])
    log.info("training mix: %s", pool.describe_sources())
    return pool


def split_dataset(pool: FaceSet, split: SplitConfig) -> tuple[FaceSet, FaceSet, FaceSet]:
    """Subject-disjoint train/val/test splits of the training mix."""
    parts = split_by_subject(pool, dict(split.fractions), seed=split.seed)
    return parts["train"], parts["val"], parts["test"]


def select_calibration(train: FaceSet, calibration: CalibrationConfig) -> FaceSet:
    return stratified_calibration(train, calibration.size, seed=calibration.seed)


def describe_splits(train: FaceSet, val: FaceSet, test: FaceSet, calibration: FaceSet) -> tuple[dict, Figure]:
    """Sizes and angle coverage per split, as MLflow metrics and an angle-histogram plot."""
    splits = {"train": train, "val": val, "test": test, "calibration": calibration}
    figures = {}
    for name, s in splits.items():
        abs_max = np.abs(s.angles).max(axis=0) if len(s) else np.zeros(3)
        figures[name] = {"n": len(s), **{f"max_abs_{a}": v for a, v in zip(ANGLES, abs_max)}}
    return as_mlflow_metrics(figures), angle_histograms({name: s.angles for name, s in splits.items()})


def preview_augmentation(train: FaceSet, augment: AugmentConfig) -> Figure:
    """A grid of training crops and augmented copies with their head axes drawn: labels must follow."""
    grid = augmentation_preview(train, build_augmentation(augment), n=8, per_sample=4, seed=0)
    fig, ax = plt.subplots(figsize=(grid.shape[1] / 100, grid.shape[0] / 100), dpi=100)
    ax.imshow(grid)
    ax.set_axis_off()
    fig.subplots_adjust(0, 0, 1, 1)
    return fig
