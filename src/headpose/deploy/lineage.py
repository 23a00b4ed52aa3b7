"""What a registered model came from: the DVC hash of each data set it was trained and tested on, and the
git commit.

Hashes are computed from the data on disk, the way DVC computes them (md5 of a file; for a folder, the
md5 of its listing of file md5s, ending in ``.dir``), so they equal what ``dvc commit`` / ``dvc repro``
then records in dvc.lock, whether or not the run went through DVC. Linked folders (a photo pool linked
into data/01_raw) are followed: the tag names the photos that were read.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from dvc_data.hashfile.hash_info import HashInfo
from dvc_data.hashfile.meta import Meta
from dvc_data.hashfile.tree import Tree


def _file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dvc_md5(path: str | Path) -> str | None:
    """DVC's md5 of a file or folder (``<md5>.dir`` for a folder), or None where nothing is there."""
    path = Path(path)
    if path.is_file():
        return _file_md5(path)
    if not path.is_dir():
        return None
    tree = Tree()
    for folder, _, files in os.walk(path, followlinks=True):
        for name in files:
            file = Path(folder, name)
            key = file.relative_to(path).parts
            tree.add(key, Meta(size=file.stat().st_size), HashInfo("md5", _file_md5(file)))
    tree.digest()
    return tree.hash_info.value


def _git_commit(root: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip()


def data_version(project_root: str | Path, data_path: str = "data/05_model_input/test") -> str:
    """``dvc:<md5>`` of ``data_path``, else ``git:<commit>``, else ``unknown``."""
    root = Path(project_root)
    md5 = dvc_md5(root / data_path)
    if md5:
        return f"dvc:{md5}"
    commit = _git_commit(root)
    return f"git:{commit}" if commit else "unknown"


def lineage_tags(project_root: str | Path, data_paths: dict[str, str]) -> dict[str, str]:
    """Registry tags naming what a version came from: ``data.<name>`` = the DVC md5 of each data path
    ("<path>: absent" where there is none) and ``git_commit``."""
    root = Path(project_root)
    tags = {
        f"data.{name}": (f"dvc:{md5}" if (md5 := dvc_md5(root / path)) else f"{path}: absent")
        for name, path in data_paths.items()
    }
    tags["git_commit"] = _git_commit(root) or "unknown"
    return tags
