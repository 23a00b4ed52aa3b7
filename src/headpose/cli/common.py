"""What every ``headpose`` command shares: argument types, the ``--model`` help, the help layout."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from headpose.errors import ConfigError
from headpose.teacher import TEACHER

MODEL_HELP = "pretrained (default), a .onnx / .pt / .engine file, or models:/headpose@champion"
MAX_BATCH = 1024  # larger batches are a memory hazard, not a benchmark


def integer(lo: int, hi: int | None = None) -> Callable[[str], int]:
    """argparse type: an integer in [lo, hi]; anything else is a usage error naming the range."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < lo or (hi is not None and value > hi):
            bound = f"from {lo} to {hi}" if hi is not None else f">= {lo}"
            raise argparse.ArgumentTypeError(f"expected an integer {bound}, got {text!r}")
        return value

    return parse


def number(lo: float, hi: float | None = None, open_lo: bool = False) -> Callable[[str], float]:
    """argparse type: a finite number in [lo, hi] (``open_lo``: above lo)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        ok = value > lo if open_lo else value >= lo
        if not (ok and (hi is None or value <= hi)) or value != value:
            bound = (f"above {lo}" if open_lo else f">= {lo}") + (f" and <= {hi}" if hi is not None else "")
            raise argparse.ArgumentTypeError(f"expected a number {bound}, got {text!r}")
        return value

    return parse


POSITIVE = integer(1)


def not_teacher(ref: str, command: str) -> str:
    """``ref``, unless it names the MediaPipe teacher, which ``command`` cannot run."""
    if ref == TEACHER:
        raise ConfigError(
            f"--model {TEACHER} is the MediaPipe teacher; {command} needs a headpose model "
            "(use `headpose label` or `headpose evaluate --model mediapipe`)"
        )
    return ref


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Examples kept as written; option help ends with its default when there is one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (
            action.default not in (None, False, argparse.SUPPRESS)
            and action.option_strings
            and "default" not in text
        ):
            text += " (default: %(default)s)"
        return text


def add_command(
    sub: argparse._SubParsersAction, name: str, help: str, epilog: str
) -> argparse.ArgumentParser:
    """A subcommand whose ``--help`` shows ``help``, its options and the examples in ``epilog``."""
    return sub.add_parser(name, help=help, description=help, epilog=epilog, formatter_class=Formatter)
