"""FaceSet: the one in-memory and on-disk form of every split (synthetic or real).

On disk a FaceSet is a directory:

- ``images.npy``  uint8 RGB crops, shape (N, H, W, 3), memory-mapped on load
- ``labels.parquet``  one row per image: yaw, pitch, roll (degrees) + provenance columns
- ``arrays.npz``  optional per-image arrays (landmarks (N, 68, 2), rotation (N, 3, 3),
  shape_params (N, S), expression_params (N, E), ...)

Directories are written to a temporary sibling and renamed, so a failed save leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from headpose.errors import DatasetError
from headpose.io import atomic_path

ANGLE_COLUMNS = ["yaw", "pitch", "roll"]
IMAGES_FILE, LABELS_FILE, ARRAYS_FILE = "images.npy", "labels.parquet", "arrays.npz"


@dataclass
class FaceSet:
    images: np.ndarray
    labels: pd.DataFrame
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.images)
        if self.images.ndim != 4 or self.images.shape[-1] != 3 or self.images.dtype != np.uint8:
            raise DatasetError(
                f"FaceSet images must be uint8 (N, H, W, 3), got {self.images.dtype} {self.images.shape}"
            )
        if len(self.labels) != n:
            raise DatasetError(f"FaceSet has {n} images but {len(self.labels)} label rows")
        missing = [c for c in ANGLE_COLUMNS if c not in self.labels.columns]
        if missing:
            raise DatasetError(f"FaceSet labels lack columns {missing}")
        for name, array in self.arrays.items():
            if len(array) != n:
                raise DatasetError(f"FaceSet array {name!r} has {len(array)} rows for {n} images")
        self.labels = self.labels.reset_index(drop=True)

    @classmethod
    def empty(cls, image_size: int) -> FaceSet:
        """No images: what a disabled source (no real set, no photo pool) contributes."""
        return cls(
            np.zeros((0, image_size, image_size, 3), np.uint8),
            pd.DataFrame(columns=[*ANGLE_COLUMNS, "source", "subject"]),
        )

    def __len__(self) -> int:
        return len(self.images)

    @property
    def angles(self) -> np.ndarray:
        """(N, 3) float32 array of (yaw, pitch, roll) in degrees."""
        return self.labels[ANGLE_COLUMNS].to_numpy(np.float32)

    def describe_sources(self) -> str:
        """Images per source family, e.g. ``pseudolabel 22925, profiled 24232, synthetic 5385``."""
        if not len(self) or "source" not in self.labels:
            return f"{len(self)} images"
        family = self.labels["source"].astype(str).str.split(":").str[0]
        return ", ".join(f"{name} {count}" for name, count in family.value_counts().items())

    def subset(self, index) -> FaceSet:
        index = np.asarray(index)
        return FaceSet(
            np.ascontiguousarray(self.images[index]),
            self.labels.iloc[index].reset_index(drop=True),
            {k: v[index] for k, v in self.arrays.items()},
        )

    @staticmethod
    def concat(sets: list[FaceSet]) -> FaceSet:
        sets = [s for s in sets if len(s)]
        if not sets:
            raise DatasetError("cannot concatenate zero non-empty FaceSets")
        shared = set.intersection(*(set(s.arrays) for s in sets))
        return FaceSet(
            np.concatenate([s.images for s in sets]),
            pd.concat([s.labels for s in sets], ignore_index=True),
            {k: np.concatenate([s.arrays[k] for s in sets]) for k in sorted(shared)},
        )


def save_faceset(faceset: FaceSet, path: str | Path) -> None:
    with atomic_path(path, directory=True) as tmp:
        np.save(tmp / IMAGES_FILE, np.ascontiguousarray(faceset.images))
        faceset.labels.to_parquet(tmp / LABELS_FILE, index=False)
        if faceset.arrays:
            np.savez(tmp / ARRAYS_FILE, **faceset.arrays)


def load_faceset(path: str | Path, mmap: bool = True) -> FaceSet:
    path = Path(path)
    for name in (IMAGES_FILE, LABELS_FILE):
        if not (path / name).is_file():
            raise DatasetError(f"{path / name}: missing; is {path} a FaceSet directory written by headpose?")
    images = np.load(path / IMAGES_FILE, mmap_mode="r" if mmap else None)
    labels = pd.read_parquet(path / LABELS_FILE)
    arrays = {}
    if (path / ARRAYS_FILE).is_file():
        with np.load(path / ARRAYS_FILE) as archive:
            arrays = {k: archive[k] for k in archive.files}
    return FaceSet(images, labels, arrays)
