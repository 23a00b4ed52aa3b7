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
from typing import Any

import click

from headpose.errors import ConfigError, HeadposeError

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

# Kedro imports `<package>.cli` and merges its `cli` group into `kedro`'s commands; we add none.
cli = click.Group()

TEACHER = "mediapipe"
MODEL_HELP = "pretrained (default), a .onnx / .pt / .engine file, or models:/headpose@champion"


def _integer(lo: int, hi: int | None = None):
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


def _number(lo: float, hi: float | None = None, open_lo: bool = False):
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


POSITIVE = _integer(1)
MAX_BATCH = 1024  # larger batches are a memory hazard, not a benchmark


def _write_json(result: dict, path: str | None) -> None:
    if path:
        from headpose.io import atomic_text

        with atomic_text(path) as out:
            out.write(json.dumps(result, indent=None, sort_keys=True) + "\n")


def _not_teacher(ref: str, command: str) -> str:
    if ref == TEACHER:
        raise ConfigError(f"--model {TEACHER} is the MediaPipe teacher; {command} needs a headpose model "
                          "(use `headpose label` or `headpose evaluate --model mediapipe`)")
    return ref


# ----------------------------------------------------------------------------------------- evaluate

def cmd_evaluate(args: argparse.Namespace) -> dict:
    if args.dataset != "aflw2000":
        raise HeadposeError(f"--dataset {args.dataset}: only aflw2000 is supported by this command")
    if args.model == TEACHER:
        from headpose.inference.label import evaluate_teacher

        result = evaluate_teacher(args.root, args.protocol, calibrated=not args.no_calibration,
                                  threads=args.threads or 1, progress=not args.quiet)
        skipped = result.pop("skip_report")
        return {**result, **_skip_report(skipped, args.skip_report), "root": str(args.root), "protocol": args.protocol}

    from headpose.data.aflw2000 import read_aflw2000
    from headpose.deploy.runtime import load_model
    from headpose.evaluation import mae_by_yaw_bucket, pose_metrics, predict_faceset

    model = load_model(args.model, threads=args.threads)
    faces, skipped = read_aflw2000(args.root, crop_size=128, protocol=args.protocol, on_bad_sample="skip",
                                   progress=not args.quiet)
    pred = predict_faceset(model.predict, faces, model.input_size, progress=not args.quiet)
    return {**pose_metrics(pred, faces.angles), "buckets": mae_by_yaw_bucket(pred, faces.angles),
            "skipped": int(len(skipped)), **_skip_report(skipped, args.skip_report), "model": str(model.path),
            "backend": model.backend, "root": str(args.root), "protocol": args.protocol}


def _skip_report(report, path: str | None) -> dict:
    """The bad files of a read's skip report, for the result; the whole report (protocol exclusions
    too) as CSV at ``path`` when given."""
    if path:
        from headpose.io import atomic_text

        with atomic_text(path) as out:
            report.to_csv(out, index=False)
    bad = report[report.kind == "bad_sample"]
    return {"bad_files": [{"file": f, "problem": p} for f, p in zip(bad.file, bad.problem)], "skip_report": path}


def _deg(value: Any) -> str:
    return "-" if value is None else f"{value:.2f}"


def render_evaluate(r: dict) -> list[str]:
    lines = [f"{r['model']} ({r['backend']}) on {r['root']}: {int(r['n'])} faces, {r['skipped']} skipped "
             f"(protocol {r['protocol']})"]
    if r.get("bad_files"):
        first = r["bad_files"][0]
        where = f"; all in {r['skip_report']}" if r.get("skip_report") else "; --skip-report FILE lists them all"
        lines.append(f"{len(r['bad_files'])} bad file(s) skipped, first {first['file']}: {first['problem']}{where}")
    if r.get("n"):
        lines.append(f"MAE {r['mae']:.2f} deg (yaw {r['yaw']:.2f}, pitch {r['pitch']:.2f}, roll {r['roll']:.2f}); "
                     f"geodesic mean {r['geodesic_mean']:.2f}, median {r['geodesic_median']:.2f} deg")
    lines.append(f"{'|yaw| deg':>10} {'faces':>6} {'MAE':>6} {'yaw':>6} {'pitch':>6} {'roll':>6}")
    for b in r["buckets"]:
        lines.append(f"{b['bucket']:>10} {b['n']:>6} {_deg(b['mae']):>6} {_deg(b['yaw']):>6} "
                     f"{_deg(b['pitch']):>6} {_deg(b['roll']):>6}")
    if "calibrated" in r:
        lines.append(f"teacher {r['teacher_version']}, " + ("calibrated yaw" if r["calibrated"]
                                                           else "uncorrected yaw (--no-calibration)"))
    return lines


# ----------------------------------------------------------------------------------------- benchmark

def cmd_benchmark(args: argparse.Namespace) -> dict:
    import numpy as np

    from headpose.deploy.runtime import load_model
    from headpose.timing import measure_latency, measure_throughput

    model = load_model(_not_teacher(args.model, "benchmark"), threads=args.threads)
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


def cmd_bench_profile(args: argparse.Namespace) -> dict:
    from headpose.synth.profiling import benchmark

    return benchmark(num_images=args.images, image_size=args.size, config={"background": args.background})


# ----------------------------------------------------------------------------------------- predict

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
    return predict(args.input, _not_teacher(args.model, "predict"), out_dir=args.out, jsonl=args.jsonl,
                   camera=args.camera, config=config, progress=not args.quiet, failures=args.failures)


def render_predict(summary: dict) -> list[str]:
    from headpose.inference.predict import summary_lines

    return summary_lines(summary)


# ----------------------------------------------------------------------------------------- label

def cmd_label(args: argparse.Namespace) -> dict:
    from headpose.inference.label import label_images

    return label_images(args.input, args.jsonl, failures=args.failures, calibrated=not args.no_calibration,
                        min_score=args.min_score, max_faces=args.max_faces, max_pixels=args.max_pixels,
                        threads=args.threads, progress=not args.quiet)


def render_label(summary: dict) -> list[str]:
    from headpose.inference.label import label_summary_lines

    return label_summary_lines(summary)


# ----------------------------------------------------------------------------------------- export

def cmd_export(args: argparse.Namespace) -> dict:
    from headpose.inference.export import export_model

    return export_model(_not_teacher(args.model, "export"), args.out, int8=args.int8, variant=args.int8_variant,
                        calibration_images=args.calibration_images, max_drop_deg=args.max_drop,
                        opset=args.opset)


def render_export(r: dict) -> list[str]:
    lines = [f"wrote {r['out']} ({r['precision']}, {r['input_size']} px, {r['size_bytes']:,} bytes) "
             f"from {r['source']}"]
    if r.get("parity"):
        lines.append(f"ONNX Runtime vs PyTorch: max {r['parity']['max_abs_diff_deg']:.4f} deg on "
                     f"{int(r['parity']['n'])} synthetic crops")
    if r.get("int8"):
        q = r["int8"]
        lines.append(f"INT8 ({q['variant']}): val MAE {q['int8_val_mae']:.3f} vs FP32 {q['fp32_val_mae']:.3f} deg "
                     f"on {q['val_images']} synthetic renders (drop {q['drop_deg']:+.3f}, budget "
                     f"{q['max_drop_deg']}); float units: {', '.join(q['float_units']) or 'none'}")
    lines.append(f"metadata: {len(r['metadata'])} headpose.* entries (see `headpose info --model {r['out']}`)")
    return lines


# ----------------------------------------------------------------------------------------- info

def cmd_info(args: argparse.Namespace) -> dict:
    from headpose.deploy.runtime import model_info

    return model_info(_not_teacher(args.model, "info"))


INFO_ORDER = ("model", "path", "format", "input_size", "input", "normalization", "crop", "output", "angle_order",
              "angle_convention", "training_data", "model_version", "headpose_version", "architecture", "precision",
              "quantized", "opset", "params", "macs", "size_bytes", "checkpoint", "metadata", "notice")


def render_info(info: dict) -> list[str]:
    keys = [k for k in INFO_ORDER if k in info] + sorted(k for k in info if k not in INFO_ORDER)
    width = max(len(k) for k in keys)
    return [f"{k:<{width}}  {info[k]}" for k in keys]


# ----------------------------------------------------------------------------------------- parser

class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Examples kept as written; option help ends with its default when there is one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and action.option_strings and "default" not in text:
            text += " (default: %(default)s)"
        return text


def _add(sub, name: str, help: str, epilog: str) -> argparse.ArgumentParser:
    return sub.add_parser(name, help=help, description=help, epilog=epilog, formatter_class=_Formatter)


EPILOG = """examples:
  headpose predict photo.jpg --out annotated/ --json faces.jsonl
  headpose label photos/ --json labels.jsonl
  headpose evaluate --root data/01_raw/aflw2000-dev
  headpose info
run `headpose COMMAND --help` for each command's options."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="headpose", description=__doc__, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    pr = _add(sub, "predict", "head pose of every face in an image, a folder, a video or a camera", """examples:
  headpose predict photo.jpg --out annotated/
  headpose predict photos/ --json faces.jsonl --summary-json run.json
  headpose predict clip.mp4 --model models:/headpose@champion --out annotated/
  headpose predict --camera 0 --max-frames 300 --json live.jsonl
  headpose predict crops/ --detector whole --json faces.jsonl       # images that already are face crops
  headpose predict photos/ --boxes my_boxes.json --json faces.jsonl  # your own detector's boxes
stdout gets a short summary; inputs that failed go to --failures (default <out>/failures.jsonl, else
<json stem>.failures.jsonl).""")
    pr.add_argument("input", nargs="?", help="image, folder of images, or video file (or use --camera)")
    pr.add_argument("--model", metavar="REF", default="pretrained", help=MODEL_HELP)
    pr.add_argument("--out", metavar="FOLDER", help="folder for annotated images / <video>_pose video")
    pr.add_argument("--json", dest="jsonl", metavar="FILE", help="JSON lines: one object per face per frame")
    pr.add_argument("--summary-json", dest="json_out", metavar="FILE", help="the run's summary as JSON")
    pr.add_argument("--failures", metavar="FILE", help="JSON lines of the inputs that failed")
    pr.add_argument("--boxes", metavar="FILE", help='boxes, not a detector: JSON {"file or frame": [[x0, y0, x1, y1], ...]}')
    pr.add_argument("--camera", type=int, help="camera index (Ctrl-C ends the recording)")
    pr.add_argument("--detector", default="blazeface", choices=["blazeface", "dlib", "whole"],
                    help="blazeface: MediaPipe's detector, any pose; dlib: HOG, near-frontal faces; "
                         "whole: each image is one face crop")
    pr.add_argument("--margin", type=float, help="crop margin per side (default: the detector's mapping)")
    pr.add_argument("--box-scale", type=float, help="landmark-box side / detector-box side")
    pr.add_argument("--box-shift", type=float, nargs=2, metavar=("DX", "DY"),
                    help="landmark-box centre minus detector-box centre, in detector-box sides")
    pr.add_argument("--no-smooth", action="store_true", help="video: report raw per-frame angles")
    pr.add_argument("--min-cutoff", type=float, help="One-Euro cut-off at rest (Hz; default 0.5)")
    pr.add_argument("--beta", type=float, help="One-Euro speed gain (per degree/s; default 0.02)")
    pr.add_argument("--smooth-boxes", action="store_true", help="also smooth the reported boxes")
    pr.add_argument("--max-pixels", type=POSITIVE, default=40_000_000)
    pr.add_argument("--on-large", default="downscale", choices=["downscale", "refuse"])
    pr.add_argument("--batch-size", type=_integer(1, MAX_BATCH), default=32, help="faces per model call at most")
    pr.add_argument("--max-frames", type=POSITIVE, help="stop a video or camera after this many frames")
    pr.add_argument("--threads", type=POSITIVE, default=1, help="ONNX Runtime / torch threads")
    pr.add_argument("--detect-workers", type=POSITIVE, default=2, help="frames detected in parallel")
    pr.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    pr.add_argument("--fourcc", default="mp4v", help="codec of the annotated video")
    pr.add_argument("--quiet", action="store_true", help="no progress bar")
    pr.set_defaults(func=cmd_predict, render=render_predict)

    lb = _add(sub, "label", "pseudo-label photos with the MediaPipe teacher (BlazeFace + landmarks + pose)",
              """examples:
  headpose label photo.jpg --json labels.jsonl
  headpose label photos/ --json labels.jsonl --max-faces 1 --summary-json label_run.json
each line of --json: file, face, box, crop_box, yaw, pitch, roll, raw_angles, detector_score, presence,
residual, teacher, teacher_version, calibrated. Images without a face go to --failures (default
<json stem>.failures.jsonl).""")
    lb.add_argument("input", help="image or folder of images (searched recursively)")
    lb.add_argument("--json", dest="jsonl", metavar="FILE", required=True, help="JSON lines: one object per face")
    lb.add_argument("--summary-json", dest="json_out", metavar="FILE", help="the run's summary as JSON")
    lb.add_argument("--failures", metavar="FILE", help="JSON lines of the images without a face or unreadable")
    lb.add_argument("--max-faces", type=POSITIVE, help="label at most this many faces per image (highest score first)")
    lb.add_argument("--min-score", type=_number(0, 1), default=0.5, help="BlazeFace score threshold")
    lb.add_argument("--no-calibration", action="store_true", help="report the teacher's uncorrected yaw")
    lb.add_argument("--max-pixels", type=POSITIVE, default=40_000_000, help="larger images are downscaled")
    lb.add_argument("--threads", type=POSITIVE, default=1, help="LiteRT threads")
    lb.add_argument("--quiet", action="store_true", help="no progress bar")
    lb.set_defaults(func=cmd_label, render=render_label)

    ev = _add(sub, "evaluate", "MAE of a model on a real AFLW2000-format folder, overall and by |yaw|",
              """examples:
  headpose evaluate --root data/01_raw/aflw2000-dev
  headpose evaluate --root /data/AFLW2000 --model models:/headpose@champion --json aflw.json
  headpose evaluate --root /data/AFLW2000 --model mediapipe    # the teacher, on ground-truth-landmark crops
crops follow the benchmark protocol: a square around the ground-truth landmarks; aflw2000_standard keeps
faces whose three angles are within +-99 deg.""")
    ev.add_argument("--dataset", default="aflw2000", choices=["aflw2000"])
    ev.add_argument("--root", metavar="FOLDER", required=True, help="folder of *.jpg + *.mat")
    ev.add_argument("--model", metavar="REF", default="pretrained", help=MODEL_HELP + ", or mediapipe (the teacher)")
    ev.add_argument("--protocol", default="aflw2000_standard", choices=["aflw2000_standard", "all"])
    ev.add_argument("--no-calibration", action="store_true", help="--model mediapipe: uncorrected yaw")
    ev.add_argument("--threads", type=POSITIVE, default=None)
    ev.add_argument("--json", dest="json_out", metavar="FILE", help="the metrics as JSON")
    ev.add_argument("--skip-report", metavar="FILE", help="CSV of every skipped file and why")
    ev.add_argument("--quiet", action="store_true", help="no progress bar")
    ev.set_defaults(func=cmd_evaluate, render=render_evaluate)

    bm = _add(sub, "benchmark", "latency percentiles (ms) and throughput (images/s) of one model", """examples:
  headpose benchmark
  headpose benchmark --model student.onnx --threads 1 --batch 1
  headpose benchmark --model models:/headpose@champion --json bench.json
prints the measurement as one JSON line.""")
    bm.add_argument("--model", metavar="REF", default="pretrained", help=MODEL_HELP)
    bm.add_argument("--threads", type=POSITIVE, default=1)
    bm.add_argument("--batch", type=_integer(1, MAX_BATCH), default=1)
    bm.add_argument("--warmup", type=_integer(0), default=5)
    bm.add_argument("--repeats", type=POSITIVE, default=50, help="timed calls for the latency percentiles")
    bm.add_argument("--seconds", type=_number(0, open_lo=True), default=1.0, help="time budget of the throughput measurement")
    bm.add_argument("--json", dest="json_out", metavar="FILE", help="the result as JSON")
    bm.set_defaults(func=cmd_benchmark)

    ex = _add(sub, "export", "write a model as one self-describing ONNX file, optionally INT8", """examples:
  headpose export --model data/06_models/student.pt --out student.onnx
  headpose export --model models:/headpose@champion --int8 --out champion_int8.onnx
  headpose export --model pretrained --int8 --int8-variant trt --out headpose_trt_int8.onnx
a checkpoint is exported and parity-checked against PyTorch; an ONNX file is copied. --int8 quantises
statically (Q/DQ, per-channel), calibrated on synthetic renders, keeping the most sensitive layers in
float until the MAE on other renders is within --max-drop of FP32. The file carries headpose.* metadata.""")
    ex.add_argument("--model", metavar="REF", default="pretrained", help=MODEL_HELP.replace(" / .engine", ""))
    ex.add_argument("--out", metavar="FILE", required=True, help="the .onnx file to write")
    ex.add_argument("--int8", action="store_true", help="static INT8 quantisation")
    ex.add_argument("--int8-variant", default="cpu", choices=["cpu", "trt"],
                    help="cpu: U8S8 for ONNX Runtime on x86; trt: S8S8 for TensorRT")
    ex.add_argument("--calibration-images", type=POSITIVE, default=256, help="synthetic renders for calibration")
    ex.add_argument("--max-drop", type=_number(0), default=0.3, help="INT8 MAE budget over FP32 (deg)")
    ex.add_argument("--opset", type=_integer(7), help="ONNX opset of a checkpoint export (default: the exporter's)")
    ex.add_argument("--json", dest="json_out", metavar="FILE", help="the export report as JSON")
    ex.set_defaults(func=cmd_export, render=render_export)

    inf = _add(sub, "info", "what a model expects and returns: input, normalisation, angles, training data",
               """examples:
  headpose info
  headpose info --model student.onnx
  headpose info --model models:/headpose@champion --json info.json""")
    inf.add_argument("--model", metavar="REF", default="pretrained", help=MODEL_HELP.replace(" / .engine", ""))
    inf.add_argument("--json", dest="json_out", metavar="FILE", help="the information as JSON")
    inf.set_defaults(func=cmd_info, render=render_info)

    bs = _add(sub, "bench-synth", "synthetic renderer throughput (images/s)", """example:
  headpose bench-synth --images 500 --size 128""")
    bs.add_argument("--images", type=POSITIVE, default=2000)
    bs.add_argument("--size", type=_integer(16, 1024), default=128)
    bs.add_argument("--json", dest="json_out", metavar="FILE", help="the result as JSON")
    bs.set_defaults(func=cmd_bench_synth)

    bp = _add(sub, "bench-profile", "face-profiling throughput (images/s, one core)", """example:
  headpose bench-profile --images 1000 --size 128""")
    bp.add_argument("--images", type=POSITIVE, default=1000)
    bp.add_argument("--size", type=_integer(16, 1024), default=128)
    bp.add_argument("--background", default="photo", choices=["photo", "border", "bank"])
    bp.add_argument("--json", dest="json_out", metavar="FILE", help="the result as JSON")
    bp.set_defaults(func=cmd_bench_profile)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        result = args.func(args)
        render = getattr(args, "render", None)
        # machine output on stdout ("-") moves the human summary to stderr
        to_stdout = "-" in (getattr(args, "jsonl", None), getattr(args, "json_out", None))
        print("\n".join(render(result)) if render else json.dumps(result, indent=None, sort_keys=True),
              file=sys.stderr if to_stdout else sys.stdout)
        _write_json(result, getattr(args, "json_out", None))
    except HeadposeError as exc:
        message = " ".join(str(exc).split("\n"))
        print(f"headpose {args.command}: error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
