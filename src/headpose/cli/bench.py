"""``headpose bench-synth`` and ``bench-profile``: throughput of the synthetic renderer and of profiling."""

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


def cmd_bench_synth(args: argparse.Namespace) -> dict:
    from headpose.synth.bench import benchmark

    return benchmark(num_images=args.images, image_size=args.size)


def cmd_bench_profile(args: argparse.Namespace) -> dict:
    from headpose.synth.profiling.rotate import benchmark

    return benchmark(num_images=args.images, image_size=args.size, config={"background": args.background})
