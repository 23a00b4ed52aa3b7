"""Every parameter block parsed once, by its config type, before a run does any work.

This is the one place that maps a section to the type its nodes receive. A wrong type, an impossible
value or an unknown key fails in the first second, naming the key and the file it belongs in,
instead of after the stages before it have written their outputs. A top-level key that the base
configuration does not define (a typo such as ``synht``) is an error too. Sections without a type
(``real_datasets``, ``mix``) stay mappings.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from headpose.errors import ConfigError

PROFILE_KEYS = ("per_face", "seed", "preview_faces", "render")


def section_types() -> dict[str, type]:
    """Section -> the config type its nodes receive (imports deferred: they pull in torch)."""
    from headpose.compression.distillation import DistillConfig
    from headpose.compression.pruning import PruneConfig
    from headpose.compression.shipping import QuantizeConfig
    from headpose.data.augment import AugmentConfig
    from headpose.data.pseudolabel.config import PseudolabelConfig
    from headpose.data.splits import CalibrationConfig, SplitConfig
    from headpose.deploy.artifacts import ExportConfig
    from headpose.deploy.benchmark import BenchmarkConfig
    from headpose.deploy.mlflow_registry import RegisterConfig
    from headpose.deploy.tensorrt_build import BuildConfig
    from headpose.synth.config import SynthConfig
    from headpose.synth.profiling.config import ProfileConfig
    from headpose.training.config import TrainConfig

    return {
        "synth": SynthConfig,
        "augment": AugmentConfig,
        "split": SplitConfig,
        "calibration": CalibrationConfig,
        "pseudolabel": PseudolabelConfig,
        "profile": ProfileConfig,
        "train": TrainConfig,
        "prune": PruneConfig,
        "distill": DistillConfig,
        "quantize": QuantizeConfig,
        "export": ExportConfig,
        "benchmark": BenchmarkConfig,
        "register": RegisterConfig,
        "build": BuildConfig,
    }


def _parse_section(kind: type, section: str, params: Mapping[str, Any]) -> object:
    raw = params[section]
    if section == "train":  # the teacher trains with the augmentation block
        return kind.from_dict({**raw, "augment": params.get("augment")})
    if section == "profile":  # the stage's knobs stay a mapping; its render block is the ProfileConfig
        unknown = sorted(set(raw) - set(PROFILE_KEYS))
        if unknown:
            raise ConfigError(f"profile: unknown keys {unknown}; known keys are {list(PROFILE_KEYS)}")
        return {**raw, "render": kind.from_dict(raw.get("render"))}
    return kind.from_dict(raw)


def parse_parameters(
    params: Mapping[str, Any], known: Iterable[str], files: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """``params`` (the merged parameters of a run) with every typed section parsed; ConfigError on the
    first bad block.

    ``known``: the valid top-level keys; ``files``: section -> the parameters file that holds it,
    named in the message.
    """
    known, files = set(known), dict(files or {})
    for key in params:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known sections: {sorted(known)}"
            raise ConfigError(f"parameters: unknown section {key!r}{hint}")
    typed = dict(params)
    for section, kind in section_types().items():
        if section not in params:
            continue
        where = f" (in {files[section]})" if section in files else ""
        try:
            typed[section] = _parse_section(kind, section, params)
        except ConfigError as exc:
            raise ConfigError(f"{exc}{where}") from exc
        except (KeyError, TypeError, AttributeError) as exc:  # a block of the wrong shape
            raise ConfigError(f"{section}: malformed block ({exc.__class__.__name__}: {exc}){where}") from exc
    return typed


def section_files(conf: Path) -> dict[str, str]:
    """Section -> the base parameters file that defines it (parameters_<stage>.yml): the known sections."""
    files = {}
    for path in sorted((conf / "base").glob("parameters*.yml")):
        for key in yaml.safe_load(path.read_text()) or {}:
            files[key] = f"conf/<env>/{path.name}"
    return files
