"""Kedro hooks of the project (kedro-mlflow's register themselves through their entry point)."""

from __future__ import annotations

from pathlib import Path

import yaml
from kedro.framework.hooks import hook_impl

from headpose.parameters import check_parameters


def _section_files(conf: Path) -> dict[str, str]:
    """Section -> the base parameters file that defines it (parameters_<stage>.yml)."""
    files = {}
    for path in sorted((conf / "base").glob("parameters*.yml")):
        for key in yaml.safe_load(path.read_text()) or {}:
            files[key] = f"conf/<env>/{path.name}"
    return files


class ParameterChecks:
    """Every parameter block is checked before the first node runs (headpose.parameters); the
    sections of conf/base are the known ones, so a new section starts there."""

    @hook_impl
    def after_context_created(self, context) -> None:
        files = _section_files(Path(context.project_path) / "conf")
        check_parameters(context.params, files, files)
