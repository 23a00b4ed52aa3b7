"""``headpose bench-synth``, ``bench-profile`` and ``bench-smoothing``: throughput of the synthetic
renderer and of profiling; what video smoothing does to a real clip's angles (jitter, lag)."""

from __future__ import annotations

import argparse

from headpose.cli.common import POSITIVE, add_command, integer


def add_commands(sub: argparse._SubParsersAction) -> None:
    bs = add_command(
        sub,
        "bench-synth",
        "synthetic renderer throughput (images/s)",
        """example:
  headpose bench-synth --images 500 --size 128""",
    )
    bs.add_argument("--images", type=POSITIVE, default=2000)
    bs.add_argument("--size", type=integer(16, 1024), default=128)
    bs.add_argument("--json", dest="json_out", metavar="FILE", help="the result as JSON")
    bs.set_defaults(func=cmd_bench_synth)

    bp = add_command(
        sub,
        "bench-profile",
        "face-profiling throughput (images/s, one core)",
        """example:
  headpose bench-profile --images 1000 --size 128""",
    )
    bp.add_argument("--images", type=POSITIVE, default=1000)
    bp.add_argument("--size", type=integer(16, 1024), default=128)
    bp.add_argument("--background", default="photo", choices=["photo", "border", "bank"])
    bp.add_argument("--json", dest="json_out", metavar="FILE", help="the result as JSON")
    bp.set_defaults(func=cmd_bench_profile)

    bv = add_command(
        sub,
        "bench-smoothing",
        "jitter and lag of the smoothed angles against the raw ones on a video with one face",
        """example:
  headpose bench-smoothing data/01_raw/video/head_turning_400x300.mp4""",
    )
    bv.add_argument("video", help="a video file with one face per frame")
    bv.add_argument("--model", default="pretrained", help="model reference (default: pretrained)")
    bv.add_argument("--max-frames", type=POSITIVE, default=None)
    bv.add_argument("--json", dest="json_out", metavar="FILE", help="the result as JSON")
    bv.set_defaults(func=cmd_bench_smoothing)


def cmd_bench_synth(args: argparse.Namespace) -> dict:
    from headpose.synth.bench import benchmark

    return benchmark(num_images=args.images, image_size=args.size)


def cmd_bench_profile(args: argparse.Namespace) -> dict:
    from headpose.synth.profiling.rotate import benchmark

    return benchmark(num_images=args.images, image_size=args.size, config={"background": args.background})


def cmd_bench_smoothing(args: argparse.Namespace) -> dict:
    """The raw angles of the clip's most confident face per frame, then the default One-Euro filter."""
    import numpy as np
    from tqdm.auto import tqdm

    from headpose.api import HeadPose
    from headpose.errors import InputError
    from headpose.inference.config import PredictConfig
    from headpose.inference.smoothing import SmoothingConfig, smoothing_effect
    from headpose.inference.sources import open_input

    plan = open_input(args.video, None, None, PredictConfig.from_dict({"max_frames": args.max_frames}))
    if plan.kind != "video":
        raise InputError(f"{args.video}: not a video file")
    hp = HeadPose(args.model)
    frames, angles = [], []
    for frame in tqdm(plan.source, total=plan.total, desc="raw angles", unit="frame"):
        faces = hp.predict(frame.image)
        if faces:
            frames.append(frame.frame)
            angles.append(max(faces, key=lambda f: f.confidence).angles)
    times = np.array(frames) / plan.fps
    return {"video": args.video, **smoothing_effect(times, np.array(angles), SmoothingConfig())}
