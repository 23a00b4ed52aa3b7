"""The ``headpose`` command line: head pose of photos and videos, the MediaPipe teacher, evaluation,
benchmarks, export and model information.

Every ``--model`` takes ``pretrained`` (the model shipped in the package, the default), a file
(.onnx, .pt checkpoint, TensorRT .engine) or a registry URI such as ``models:/headpose@champion``,
read from the MLflow registry of the project's conf/base/mlflow.yml (MLFLOW_TRACKING_URI wins).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from headpose.cli import bench, evaluate, models, predict
from headpose.errors import HeadposeError

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")


def __getattr__(name: str):
    # Kedro imports `<package>.cli` and merges its `cli` group into `kedro`'s commands: `kedro run`
    # with one-line errors. Loaded only then, so `headpose` does not import Kedro's CLI.
    if name == "cli":
        from headpose.cli.kedro_run import cli

        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


EPILOG = """examples:
  headpose predict photo.jpg --out annotated/ --json faces.jsonl
  headpose label photos/ --json labels.jsonl
  headpose evaluate --root data/01_raw/aflw2000-dev
  headpose info
run `headpose COMMAND --help` for each command's options."""

# One module per command group; the order here is the order of `headpose --help`.
COMMAND_GROUPS = (predict, evaluate, models, bench)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="headpose",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.add_commands(sub)
    return parser


def _write_json(result: dict, path: str | None) -> None:
    if path:
        from headpose.io import atomic_text

        with atomic_text(path) as out:
            out.write(json.dumps(result, indent=None, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> int:
    """Run one command; every HeadposeError (bad input, model, config) is one line on stderr and exit 2."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        result = args.func(args)
        render = getattr(args, "render", None)
        # machine output on stdout ("-") moves the human summary to stderr
        to_stdout = "-" in (getattr(args, "jsonl", None), getattr(args, "json_out", None))
        print(
            "\n".join(render(result)) if render else json.dumps(result, indent=None, sort_keys=True),
            file=sys.stderr if to_stdout else sys.stdout,
        )
        _write_json(result, getattr(args, "json_out", None))
    except HeadposeError as exc:
        message = " ".join(str(exc).split("\n"))
        print(f"headpose {args.command}: error: {message}", file=sys.stderr)
        return 2
    return 0
