"""Errors that name the file and the problem, so users can fix their input."""


class HeadposeError(Exception):
    """Base class: every error the library raises on bad input or configuration."""


class DatasetError(HeadposeError):
    """A dataset file is missing, corrupt, or holds labels we cannot trust."""


class ConfigError(HeadposeError):
    """A parameter has the wrong type or an impossible value."""


class GateError(HeadposeError):
    """A compression or promotion step lost more accuracy than its budget allows."""
