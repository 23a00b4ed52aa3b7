"""``headpose predict`` (a headpose model on photos, videos, a camera) and ``headpose label`` (the
MediaPipe teacher on photos)."""

from __future__ import annotations

import argparse
from pathlib import Path

from headpose.cli.common import MAX_BATCH, MODEL_HELP, POSITIVE, add_command, integer, not_teacher, number

PREDICT_EXAMPLES = """examples:
  headpose predict photo.jpg --out annotated/
  headpose predict photos/ --json faces.jsonl --summary-json run.json
  headpose predict clip.mp4 --model models:/headpose@champion --out annotated/
  headpose predict --camera 0 --max-frames 300 --json live.jsonl
  headpose predict crops/ --detector whole --json faces.jsonl       # images that already are face crops
  headpose predict photos/ --boxes my_boxes.json --json faces.jsonl  # your own detector's boxes
stdout gets a short summary; inputs that failed go to --failures (default <out>/failures.jsonl, else
<json stem>.failures.jsonl)."""

LABEL_EXAMPLES = """examples:
  headpose label photo.jpg --json labels.jsonl
  headpose label photos/ --json labels.jsonl --max-faces 1 --summary-json label_run.json
each line of --json: file, face, box, crop_box, yaw, pitch, roll, raw_angles, detector_score, presence,
residual, teacher, teacher_version, calibrated. Images without a face go to --failures (default
<json stem>.failures.jsonl)."""


def add_commands(sub: argparse._SubParsersAction) -> None:
    _add_predict(sub)
    _add_label(sub)


def cmd_predict(args: argparse.Namespace) -> dict:
    from headpose.inference.config import PredictConfig
    from headpose.inference.predict import predict
    from headpose.inference.smoothing import SmoothingConfig

    knobs = {"min_cutoff": args.min_cutoff, "beta": args.beta}
    smoothing = SmoothingConfig(
        **{k: v for k, v in knobs.items() if v is not None}, smooth_boxes=args.smooth_boxes
    )
    config = PredictConfig(
        detector=args.detector,
        boxes=args.boxes,
        margin=args.margin,
        box_scale=args.box_scale,
        box_shift=tuple(args.box_shift) if args.box_shift else None,
        smooth=not args.no_smooth,
        smoothing=smoothing,
        max_pixels=args.max_pixels,
        on_large=args.on_large,
        batch_size=args.batch_size,
        max_frames=args.max_frames,
        threads=args.threads,
        device=args.device,
        fourcc=args.fourcc,
        detect_workers=args.detect_workers,
    )
    source, camera = args.input, args.camera
    if camera is None and source is not None and source.isdigit() and not Path(source).exists():
        source, camera = None, int(source)  # `predict 0`: camera 0
    return predict(
        source,
        not_teacher(args.model, "predict"),
        out_dir=args.out,
        jsonl=args.jsonl,
        camera=camera,
        config=config,
        progress=not args.quiet,
        failures=args.failures,
    )


def render_predict(summary: dict) -> list[str]:
    from headpose.inference.predict import summary_lines

    return summary_lines(summary)


def cmd_label(args: argparse.Namespace) -> dict:
    from headpose.inference.label import label_images

    return label_images(
        args.input,
        args.jsonl,
        failures=args.failures,
        calibrated=not args.no_calibration,
        min_score=args.min_score,
        max_faces=args.max_faces,
        max_pixels=args.max_pixels,
        threads=args.threads,
        progress=not args.quiet,
    )


def render_label(summary: dict) -> list[str]:
    from headpose.inference.label import label_summary_lines

    return label_summary_lines(summary)


def _add_predict(sub: argparse._SubParsersAction) -> None:
    pr = add_command(
        sub, "predict", "head pose of every face in an image, a folder, a video or a camera", PREDICT_EXAMPLES
    )
    pr.add_argument(
        "input", nargs="?", help="image, folder of images, video file, or a camera index (or --camera N)"
    )
    pr.add_argument("--model", metavar="REF", default="pretrained", help=MODEL_HELP)
    pr.add_argument("--out", metavar="FOLDER", help="folder for annotated images / <video>_pose video")
    pr.add_argument("--json", dest="jsonl", metavar="FILE", help="JSON lines: one object per face per frame")
    pr.add_argument("--summary-json", dest="json_out", metavar="FILE", help="the run's summary as JSON")
    pr.add_argument("--failures", metavar="FILE", help="JSON lines of the inputs that failed")
    pr.add_argument(
        "--boxes",
        metavar="FILE",
        help='boxes, not a detector: JSON {"file or frame": [[x0, y0, x1, y1], ...]}',
    )
    pr.add_argument("--camera", type=int, help="camera index (Ctrl-C ends the recording)")
    pr.add_argument(
        "--detector",
        default="blazeface",
        choices=["blazeface", "dlib", "whole"],
        help="blazeface: MediaPipe's detector, any pose; dlib: HOG, near-frontal faces; "
        "whole: each image is one face crop",
    )
    pr.add_argument("--margin", type=float, help="crop margin per side (default: the detector's mapping)")
    pr.add_argument("--box-scale", type=float, help="landmark-box side / detector-box side")
    pr.add_argument(
        "--box-shift",
        type=float,
        nargs=2,
        metavar=("DX", "DY"),
        help="landmark-box centre minus detector-box centre, in detector-box sides",
    )
    pr.add_argument("--no-smooth", action="store_true", help="video: report raw per-frame angles")
    pr.add_argument("--min-cutoff", type=float, help="One-Euro cut-off at rest (Hz; default 0.5)")
    pr.add_argument("--beta", type=float, help="One-Euro speed gain (per degree/s; default 0.02)")
    pr.add_argument("--smooth-boxes", action="store_true", help="also smooth the reported boxes")
    pr.add_argument("--max-pixels", type=POSITIVE, default=40_000_000)
    pr.add_argument("--on-large", default="downscale", choices=["downscale", "refuse"])
    pr.add_argument(
        "--batch-size", type=integer(1, MAX_BATCH), default=32, help="faces per model call at most"
    )
    pr.add_argument("--max-frames", type=POSITIVE, help="stop a video or camera after this many frames")
    pr.add_argument("--threads", type=POSITIVE, default=1, help="ONNX Runtime / torch threads")
    pr.add_argument("--detect-workers", type=POSITIVE, default=2, help="frames detected in parallel")
    pr.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    pr.add_argument("--fourcc", default="mp4v", help="codec of the annotated video")
    pr.add_argument("--quiet", action="store_true", help="no progress bar")
    pr.set_defaults(func=cmd_predict, render=render_predict)


def _add_label(sub: argparse._SubParsersAction) -> None:
    lb = add_command(
        sub,
        "label",
        "pseudo-label photos with the MediaPipe teacher (BlazeFace + landmarks + pose)",
        LABEL_EXAMPLES,
    )
    lb.add_argument("input", help="image or folder of images (searched recursively)")
    lb.add_argument(
        "--json", dest="jsonl", metavar="FILE", required=True, help="JSON lines: one object per face"
    )
    lb.add_argument("--summary-json", dest="json_out", metavar="FILE", help="the run's summary as JSON")
    lb.add_argument(
        "--failures", metavar="FILE", help="JSON lines of the images without a face or unreadable"
    )
    lb.add_argument(
        "--max-faces", type=POSITIVE, help="label at most this many faces per image (highest score first)"
    )
    lb.add_argument("--min-score", type=number(0, 1), default=0.5, help="BlazeFace score threshold")
    lb.add_argument("--no-calibration", action="store_true", help="report the teacher's uncorrected yaw")
    lb.add_argument("--max-pixels", type=POSITIVE, default=40_000_000, help="larger images are downscaled")
    lb.add_argument("--threads", type=POSITIVE, default=1, help="LiteRT threads")
    lb.add_argument("--quiet", action="store_true", help="no progress bar")
    lb.set_defaults(func=cmd_label, render=render_label)
