"""Errors that name the file and the problem, so users can fix their input."""

from collections.abc import Mapping
from dataclasses import fields
from typing import Any


class HeadposeError(Exception):
    """Base class: every error the library raises on bad input or configuration."""


class DatasetError(HeadposeError):
    """A dataset file is missing, corrupt, or holds labels we cannot trust."""


class ModelError(HeadposeError):
    """A model file or reference is missing, corrupt, or not a model this runtime can run."""


class InputError(HeadposeError):
    """An input the user gave (image, folder, video, camera, boxes file) cannot be read, or none of it
    could be processed."""


class ConfigError(HeadposeError):
    """A parameter has the wrong type or an impossible value."""


class GateError(HeadposeError):
    """A compression or promotion step lost more accuracy than its budget allows."""


def reject_unknown_keys(section: str, raw: Mapping[str, Any], config_type: type) -> None:
    """Raise ConfigError naming every key of ``raw`` that dataclass ``config_type`` has no field for."""
    known = sorted(f.name for f in fields(config_type))
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ConfigError(f"{section}: unknown keys {unknown}; known keys are {known}")
