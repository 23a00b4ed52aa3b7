"""The ``headpose`` command line: evaluate models, benchmark them, and the synthetic-data benchmark."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

import click

from headpose.errors import HeadposeError

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

# Kedro imports `<package>.cli` and merges its `cli` group into `kedro`'s commands; we add none.
cli = click.Group()


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


def cmd_benchmark(args: argparse.Namespace) -> dict:
    import numpy as np

    from headpose.deploy.benchmark import measure_latency, measure_throughput
    from headpose.deploy.runtime import load_model

    model = load_model(args.model, threads=args.threads)
    size = model.input_size
    # Model input is ImageNet-normalised, so standard-normal noise has the right range and shape.
    batch = np.random.default_rng(0).standard_normal((args.batch, 3, size, size)).astype(np.float32)
    latency = measure_latency(model.predict, batch, args.warmup, args.repeats)
    return {"model": str(model.path), "backend": model.backend, "input_size": size, "batch": args.batch,
            "threads": args.threads, "size_bytes": model.path.stat().st_size, **latency,
            "throughput": measure_throughput(model.predict, batch, args.seconds)}


def cmd_bench_synth(args: argparse.Namespace) -> dict:
    from headpose.synth.bench import benchmark

    return benchmark(num_images=args.images, image_size=args.size)


def cmd_predict(args: argparse.Namespace) -> dict:
    from headpose.inference.predict import PredictConfig, predict
    from headpose.inference.smoothing import SmoothingConfig

    knobs = {"min_cutoff": args.min_cutoff, "beta": args.beta}
    smoothing = SmoothingConfig(**{k: v for k, v in knobs.items() if v is not None},
                                smooth_boxes=args.smooth_boxes)
    config = PredictConfig(
        detector=args.detector, boxes=args.boxes, margin=args.margin, box_scale=args.box_scale,
        box_shift=tuple(args.box_shift) if args.box_shift else None, smooth=not args.no_smooth,
        smoothing=smoothing, max_pixels=args.max_pixels, on_large=args.on_large, batch_size=args.batch_size,
        max_frames=args.max_frames, threads=args.threads, device=args.device, fourcc=args.fourcc,
        detect_workers=args.detect_workers,
    )
    return predict(args.input, args.model, out_dir=args.out, jsonl=args.jsonl, camera=args.camera,
                   config=config, progress=not args.quiet)


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

    bm = sub.add_parser("benchmark", help="latency percentiles (ms) and throughput (images/s) of one model")
    bm.add_argument("--model", required=True, help="checkpoint .pt, .onnx, TensorRT .engine, or models:/headpose@champion")
    bm.add_argument("--threads", type=int, default=1)
    bm.add_argument("--batch", type=int, default=1)
    bm.add_argument("--warmup", type=int, default=5)
    bm.add_argument("--repeats", type=int, default=50, help="timed calls for the latency percentiles")
    bm.add_argument("--seconds", type=float, default=1.0, help="time budget of the throughput measurement")
    bm.add_argument("--json", dest="json_out")
    bm.set_defaults(func=cmd_benchmark)

    bs = sub.add_parser("bench-synth", help="synthetic renderer throughput (images/s)")
    bs.add_argument("--images", type=int, default=2000)
    bs.add_argument("--size", type=int, default=128)
    bs.add_argument("--json", dest="json_out")
    bs.set_defaults(func=cmd_bench_synth)

    pr = sub.add_parser("predict", help="head pose of every face in an image, a folder, a video or a camera")
    pr.add_argument("input", nargs="?", help="image, folder of images, or video file (or use --camera)")
    pr.add_argument("--model", required=True, help="models:/headpose@champion, .onnx, .pt or .engine")
    pr.add_argument("--out", help="folder for annotated images / <video>_pose video")
    pr.add_argument("--json", dest="jsonl", help="JSON lines: one object per face per frame")
    pr.add_argument("--boxes", help='boxes, not a detector: JSON {"file or frame": [[x0, y0, x1, y1], ...]}')
    pr.add_argument("--camera", type=int, help="camera index (Ctrl-C ends the recording)")
    pr.add_argument("--detector", default="dlib", choices=["dlib", "whole"],
                    help="dlib: HOG, near-frontal faces; whole: each image is one face crop")
    pr.add_argument("--margin", type=float, help="crop margin per side (default: the detector's mapping)")
    pr.add_argument("--box-scale", type=float, help="landmark-box side / detector-box side")
    pr.add_argument("--box-shift", type=float, nargs=2, metavar=("DX", "DY"),
                    help="landmark-box centre minus detector-box centre, in detector-box sides")
    pr.add_argument("--no-smooth", action="store_true", help="video: report raw per-frame angles")
    pr.add_argument("--min-cutoff", type=float, help="One-Euro cut-off at rest (Hz; default 0.5)")
    pr.add_argument("--beta", type=float, help="One-Euro speed gain (per degree/s; default 0.02)")
    pr.add_argument("--smooth-boxes", action="store_true", help="also smooth the reported boxes")
    pr.add_argument("--max-pixels", type=int, default=40_000_000)
    pr.add_argument("--on-large", default="downscale", choices=["downscale", "refuse"])
    pr.add_argument("--batch-size", type=int, default=32, help="faces per model call at most")
    pr.add_argument("--max-frames", type=int, help="stop a video or camera after this many frames")
    pr.add_argument("--threads", type=int, default=1, help="ONNX Runtime / torch threads")
    pr.add_argument("--detect-workers", type=int, default=2, help="frames detected in parallel")
    pr.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    pr.add_argument("--fourcc", default="mp4v", help="codec of the annotated video")
    pr.add_argument("--quiet", action="store_true", help="no progress bar")
    pr.set_defaults(func=cmd_predict)
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
