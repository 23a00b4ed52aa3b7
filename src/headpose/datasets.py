"""Kedro datasets for headpose's own artifact types (used from conf/base/catalog*.yml).

Heavy imports (torch, onnx) are deferred to load/save, so reading the catalog stays fast.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io import AbstractDataset

from headpose.data.faceset import FaceSet, load_faceset, save_faceset
from headpose.errors import DatasetError
from headpose.io import atomic_path


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


class OnnxModelDataset(AbstractDataset):
    """One ONNX file: loads an onnx.ModelProto, saves it checked and atomically."""

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None):
        self._filepath = PurePosixPath(filepath)
        self.metadata = metadata

    def load(self):
        import onnx

        if not Path(self._filepath).is_file():
            raise DatasetError(f"{self._filepath}: ONNX model not found; run the pipeline that writes it")
        return onnx.load(str(self._filepath))

    def save(self, data) -> None:
        from headpose.deploy.onnx_export import save_onnx

        save_onnx(data, Path(self._filepath))

    def _exists(self) -> bool:
        return Path(self._filepath).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}


class ModelFilesDataset(AbstractDataset[dict[str, bytes], dict[str, Path]]):
    """A directory of deployment files (ONNX models, TensorRT engines + metadata).

    The set of files depends on configuration (which models exist, which engines could be built), so
    the catalog names one directory instead of one entry per file. ``save`` takes ``{file name: bytes}``
    and replaces the whole directory atomically, so stale files of an earlier configuration never
    linger; ``load`` returns ``{name: Path}`` for every ``<name><suffix>`` file present (downstream nodes
    need paths: ONNX Runtime, TensorRT and the MLflow registry all read files).
    """

    def __init__(self, path: str, suffix: str, metadata: dict[str, Any] | None = None):
        self._path = PurePosixPath(path)
        self._suffix = suffix
        self.metadata = metadata

    def load(self) -> dict[str, Path]:
        directory = Path(self._path)
        if not directory.is_dir():
            return {}
        return {
            p.name[: -len(self._suffix)]: p
            for p in sorted(directory.iterdir())
            if p.is_file() and p.name.endswith(self._suffix)
        }

    def save(self, data: dict[str, bytes]) -> None:
        for name in data:
            if "/" in name or name.startswith("."):
                raise DatasetError(
                    f"{self._path}: file name {name!r} must be a plain name inside the directory"
                )
        with atomic_path(Path(self._path), directory=True) as tmp:
            for name, content in data.items():
                (tmp / name).write_bytes(content)

    def _exists(self) -> bool:
        return Path(self._path).is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "suffix": self._suffix}
