"""The ``headpose`` command line: evaluate models, benchmark them, and the synthetic-data benchmark."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from headpose.errors import HeadposeError

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")


def _emit(result: dict, json_out: str | None) -> None:
    text = json.dumps(result, indent=None, sort_keys=True)
    print(text)
    if json_out:
        from headpose.io import atomic_path

        with atomic_path(json_out) as tmp:
            tmp.write_text(text + "\n")


def cmd_evaluate(args: argparse.Namespace) -> dict:
    from headpose.data.aflw2000 import read_aflw2000
    from headpose.deploy.runtime import load_model
    from headpose.evaluation import pose_metrics, predict_faceset

    if args.dataset != "aflw2000":
        raise HeadposeError(f"--dataset {args.dataset}: only aflw2000 is supported by this command")
    model = load_model(args.model, threads=args.threads)
    faces, skipped = read_aflw2000(args.root, crop_size=128, protocol=args.protocol, on_bad_sample="skip")
    pred = predict_faceset(model.predict, faces, model.input_size, progress=True)
    return {**pose_metrics(pred, faces.angles), "skipped": int(len(skipped)), "model": str(model.path), "backend": model.backend}


def cmd_bench_synth(args: argparse.Namespace) -> dict:
    from headpose.synth.bench import benchmark

    return benchmark(num_images=args.images, image_size=args.size)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="headpose", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    ev = sub.add_parser("evaluate", help="MAE of a model on a real AFLW2000-format folder")
    ev.add_argument("--dataset", default="aflw2000", choices=["aflw2000"])
    ev.add_argument("--root", required=True, help="folder of *.jpg + *.mat")
    ev.add_argument("--model", required=True, help="checkpoint .pt, .onnx, or models:/headpose@champion")
    ev.add_argument("--protocol", default="aflw2000_standard", choices=["aflw2000_standard", "all"])
    ev.add_argument("--threads", type=int, default=None)
    ev.add_argument("--json", dest="json_out")
    ev.set_defaults(func=cmd_evaluate)

    bs = sub.add_parser("bench-synth", help="synthetic renderer throughput (images/s)")
    bs.add_argument("--images", type=int, default=2000)
    bs.add_argument("--size", type=int, default=128)
    bs.add_argument("--json", dest="json_out")
    bs.set_defaults(func=cmd_bench_synth)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        _emit(args.func(args), getattr(args, "json_out", None))
    except HeadposeError as exc:
        print(f"headpose {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
