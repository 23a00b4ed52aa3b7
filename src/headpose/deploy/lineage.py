"""What a registered model came from: the DVC md5 of its data (dvc.lock) and the git commit."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml


def _dvc_md5(root: Path, data_path: str) -> str | None:
    """The md5 dvc.lock records for output ``data_path``, or None."""
    lock = root / "dvc.lock"
    if not lock.is_file():
        return None
    for stage in ((yaml.safe_load(lock.read_text()) or {}).get("stages") or {}).values():
        for out in stage.get("outs", []):
            if out.get("path") == data_path and out.get("md5"):
                return out["md5"]
    return None


def _git_commit(root: Path) -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip()


def data_version(project_root: str | Path, data_path: str = "data/05_model_input/test") -> str:
    """``dvc:<md5>`` of ``data_path`` from dvc.lock, else ``git:<commit>``, else ``unknown``."""
    root = Path(project_root)
    md5 = _dvc_md5(root, data_path)
    if md5:
        return f"dvc:{md5}"
    commit = _git_commit(root)
    return f"git:{commit}" if commit else "unknown"


def lineage_tags(project_root: str | Path, data_paths: dict[str, str]) -> dict[str, str]:
    """Registry tags naming what a version came from: ``data.<name>`` = the DVC md5 of each data
    path (dvc.lock; "not in dvc.lock" when the data was not produced by ``dvc repro``) and
    ``git_commit``."""
    root = Path(project_root)
    tags = {f"data.{name}": (f"dvc:{md5}" if (md5 := _dvc_md5(root, path)) else f"{path}: not in dvc.lock")
            for name, path in data_paths.items()}
    tags["git_commit"] = _git_commit(root) or "unknown"
    return tags
