"""Kedro datasets for headpose's own artifact types (used from conf/base/catalog.yml)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io import AbstractDataset

from headpose.data.faceset import FaceSet, load_faceset, save_faceset


class FaceSetDataset(AbstractDataset[FaceSet, FaceSet]):
    """A FaceSet directory (images.npy + labels.parquet + arrays.npz), memory-mapped on load."""

    def __init__(self, filepath: str, mmap: bool = True, metadata: dict[str, Any] | None = None):
        self._filepath = PurePosixPath(filepath)
        self._mmap = mmap
        self.metadata = metadata

    def load(self) -> FaceSet:
        return load_faceset(Path(self._filepath), mmap=self._mmap)

    def save(self, data: FaceSet) -> None:
        save_faceset(data, Path(self._filepath))

    def _exists(self) -> bool:
        return Path(self._filepath, "labels.parquet").is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "mmap": self._mmap}


class CheckpointDataset(AbstractDataset):
    """A model checkpoint: architecture spec + state_dict + metadata (loaded with weights_only=True)."""

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None):
        self._filepath = PurePosixPath(filepath)
        self.metadata = metadata

    def load(self):
        from headpose.training.checkpoint import load_checkpoint

        return load_checkpoint(Path(self._filepath))

    def save(self, data) -> None:
        from headpose.training.checkpoint import save_checkpoint

        save_checkpoint(data, Path(self._filepath))

    def _exists(self) -> bool:
        return Path(self._filepath).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
