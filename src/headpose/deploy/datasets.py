"""Kedro dataset for a directory of deployment files (ONNX models, TensorRT engines + metadata).

The set of files depends on configuration (which models exist, which engines could be built), so
the catalog names one directory instead of one entry per file. ``save`` takes ``{file name: bytes}``
and replaces the whole directory atomically, so stale files of an earlier configuration never
linger; ``load`` returns ``{name: Path}`` for every ``<name><suffix>`` file present (downstream nodes
need paths: ONNX Runtime, TensorRT and the MLflow registry all read files).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io import AbstractDataset

from headpose.errors import DatasetError
from headpose.io import atomic_path


class ModelFilesDataset(AbstractDataset[dict[str, bytes], dict[str, Path]]):
    def __init__(self, path: str, suffix: str, metadata: dict[str, Any] | None = None):
        self._path = PurePosixPath(path)
        self._suffix = suffix
        self.metadata = metadata

    def load(self) -> dict[str, Path]:
        directory = Path(self._path)
        if not directory.is_dir():
            return {}
        return {p.name[: -len(self._suffix)]: p for p in sorted(directory.iterdir())
                if p.is_file() and p.name.endswith(self._suffix)}

    def save(self, data: dict[str, bytes]) -> None:
        for name in data:
            if "/" in name or name.startswith("."):
                raise DatasetError(f"{self._path}: file name {name!r} must be a plain name inside the directory")
        with atomic_path(Path(self._path), directory=True) as tmp:
            for name, content in data.items():
                (tmp / name).write_bytes(content)

    def _exists(self) -> bool:
        return Path(self._path).is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "suffix": self._suffix}
