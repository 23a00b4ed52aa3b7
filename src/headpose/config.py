"""One way to declare and parse a parameter block.

A block is a dataclass that derives from ``Config`` and names its section; each field's type and its
``knob`` bounds say what is valid::

    @dataclass(frozen=True)
    class PruneConfig(Config, section="prune"):
        ratio: float = knob(0.3, lo=0.0, hi=0.9)
        method: str = knob("l1", choices=("l1", "bn"))
        input_size: int | None = None

    PruneConfig.from_dict({"ratio": 2})   # ConfigError: prune.ratio: 2.0 is outside [0.0, 0.9]

Every problem has one message format, ``<section>.<key>: <problem>``: unknown keys (with a "did you
mean"), wrong types, values out of range or not among the choices. Values come out canonical: ints
widened to float where a float is declared, lists to tuples where a tuple is, nested mappings parsed
into their own ``Config`` type under the dotted section (``train.loss.alpha``). Rules that involve
several fields go in ``check()``, raised through ``self.problem(key, message)``.
"""

from __future__ import annotations

import contextvars
import copy
import difflib
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, field, fields
from typing import Any, ClassVar

from headpose.errors import ConfigError


def knob(
    default: Any = MISSING,
    *,
    lo: float | None = None,
    hi: float | None = None,
    choices: tuple = (),
    ordered: bool = False,
) -> Any:
    """A dataclass field with bounds: ``lo``/``hi`` for numbers (each element of a tuple), ``choices``
    for any value, ``ordered`` for a tuple that must not decrease (a [low, high] range)."""
    meta = {"lo": lo, "hi": hi, "choices": tuple(choices), "ordered": ordered}
    if isinstance(default, (dict, list, set)):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=meta)
    return field(default=default, metadata=meta)


class Config:
    """Base of every parameter block (see the module docstring)."""

    section: ClassVar[str] = ""

    def __init_subclass__(cls, section: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if section:
            cls.section = section

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None, section: str | None = None):
        """Parse ``raw`` (None: every default); ``section`` overrides the class's name in messages."""
        section = section or cls.section
        if raw is None:
            raw = {}
        if isinstance(raw, cls):
            return raw
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{section}: expected a mapping of parameters, got {raw!r}")
        known = [f.name for f in fields(cls) if f.init]
        for key in raw:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"known keys are {sorted(known)}"
                raise ConfigError(f"{section}.{key}: unknown key; {hint}")
        hints = _hints(cls)
        values = {
            key: _parse(f"{section}.{key}", value, hints[key], _meta(cls, key)) for key, value in raw.items()
        }
        token = _SECTION.set((cls, section))
        try:
            return cls(**values)
        finally:
            _SECTION.reset(token)

    def __post_init__(self) -> None:
        # the name from_dict gives this block; nested blocks (built by default factories before this
        # runs, or parsed below) keep their own
        builder, section = _SECTION.get() or (None, self.section)
        if builder is type(self):
            _SECTION.set(None)
        else:
            section = self.section
        hints = _hints(type(self))
        for f in fields(self):
            value = _parse(f"{section}.{f.name}", getattr(self, f.name), hints[f.name], f.metadata)
            object.__setattr__(self, f.name, value)
        object.__setattr__(self, "_section", section)
        self.check()

    def check(self) -> None:
        """Rules across fields; raise ``self.problem(key, message)``."""

    def problem(self, key: str, message: str) -> ConfigError:
        """A ConfigError for ``key`` in this block's message format."""
        return ConfigError(f"{getattr(self, '_section', self.section)}.{key}: {message}")


# The class and section that from_dict is building, read by __post_init__ (dataclass __init__ takes no
# extra arguments).
_SECTION: contextvars.ContextVar[tuple[type, str] | None] = contextvars.ContextVar(
    "config_section", default=None
)


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _meta(cls: type, key: str) -> Mapping[str, Any]:
    return next(f.metadata for f in fields(cls) if f.name == key)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)  # bool is an int subclass


def _describe(kind: Any) -> str:
    if kind is bool:
        return "true or false"
    if kind is int:
        return "an integer"
    if kind is float:
        return "a number"
    if kind is str:
        return "a string"
    origin = typing.get_origin(kind)
    if origin in (dict, Mapping) or kind in (dict, Mapping):
        return "a mapping"
    if origin in (list, tuple) or kind in (list, tuple):
        return "a list"
    if isinstance(kind, type) and issubclass(kind, Config):
        return "a mapping"
    return getattr(kind, "__name__", str(kind))


def _parse(key: str, value: Any, kind: Any, meta: Mapping[str, Any]) -> Any:
    """``value`` in canonical form for ``kind``, or ConfigError naming ``key``."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            try:
                return _parse(key, value, options[0], meta)
            except ConfigError as exc:
                if value is None or "expected" not in str(exc):
                    raise
                raise ConfigError(f"{key}: expected null or {_describe(options[0])}, got {value!r}") from None
        for option in options:
            try:
                return _parse(key, value, option, meta)
            except ConfigError:
                continue
        raise ConfigError(f"{key}: expected one of {[_describe(o) for o in options]}, got {value!r}")
    if kind is Any:
        parsed = value
    elif isinstance(kind, type) and issubclass(kind, Config):
        return kind.from_dict(value, section=key)
    elif kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        parsed = value
    elif kind is int:
        if not (_is_number(value) and float(value).is_integer()):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        parsed = int(value)
    elif kind is float:
        if not _is_number(value) or math.isnan(value):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        parsed = float(value)
    elif kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        parsed = value
    elif origin in (dict, Mapping) or kind in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        if args and args[1] is not Any:  # bounds apply to each value, as to a list's elements
            return {
                k: _bounded(f"{key}.{k}", _parse(f"{key}.{k}", v, args[1], {}), meta)
                for k, v in value.items()
            }
        return dict(value)
    elif origin is tuple or origin is list or kind in (tuple, list):
        return _parse_sequence(key, value, kind, meta)
    else:
        raise TypeError(f"{key}: no parser for the declared type {kind!r}")
    return _bounded(key, parsed, meta)


def _parse_sequence(key: str, value: Any, kind: Any, meta: Mapping[str, Any]) -> Any:
    origin, args = typing.get_origin(kind) or kind, typing.get_args(kind)
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{key}: expected a list, got {value!r}")
    if origin is tuple and args and args[-1] is not Ellipsis and len(value) != len(args):
        raise ConfigError(f"{key}: expected a list of {len(args)} values, got {value!r}")
    element_kinds = (
        args[:1] * len(value)
        if (origin is list or (args and args[-1] is Ellipsis))
        else args or (Any,) * len(value)
    )
    items = [
        _bounded(f"{key}[{i}]", _parse(f"{key}[{i}]", v, k, {}), meta)
        for i, (v, k) in enumerate(zip(value, element_kinds, strict=True))
    ]
    if meta.get("ordered") and any(a > b for a, b in zip(items, items[1:])):
        raise ConfigError(f"{key}: expected [low, high] with low <= high, got {list(value)!r}")
    return tuple(items) if origin is tuple else items


def _bounded(key: str, value: Any, meta: Mapping[str, Any]) -> Any:
    choices = meta.get("choices")
    if choices and value not in choices:
        raise ConfigError(f"{key}: {value!r} is not one of {list(choices)}")
    lo, hi = meta.get("lo"), meta.get("hi")
    if _is_number(value) and ((lo is not None and value < lo) or (hi is not None and value > hi)):
        bounds = f"[{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"
        raise ConfigError(f"{key}: {value!r} is outside {bounds}")
    return value
