"""``headpose benchmark``, ``export`` and ``info``: what a model costs, one self-describing ONNX file
of it, and what it expects and returns."""

from __future__ import annotations

import argparse

from headpose.cli.common import MAX_BATCH, MODEL_HELP, POSITIVE, add_command, integer, not_teacher, number

BENCHMARK_EXAMPLES = """examples:
  headpose benchmark
  headpose benchmark --model student.onnx --threads 1 --batch 1
  headpose benchmark --model models:/headpose@champion --json bench.json
prints the measurement as one JSON line."""

EXPORT_EXAMPLES = """examples:
  headpose export --model data/06_models/student.pt --out student.onnx
  headpose export --model models:/headpose@champion --int8 --out champion_int8.onnx
  headpose export --model pretrained --int8 --int8-variant trt --out headpose_trt_int8.onnx
a checkpoint is exported and parity-checked against PyTorch; an ONNX file is copied. --int8 quantises
statically (Q/DQ, per-channel), calibrated on synthetic renders, keeping the most sensitive layers in
float until the MAE on other renders is within --max-drop of FP32. The file carries headpose.* metadata."""

INFO_EXAMPLES = """examples:
  headpose info
  headpose info --model student.onnx
  headpose info --model models:/headpose@champion --json info.json"""

INFO_ORDER = (
    "model",
    "path",
    "format",
    "input_size",
    "input",
    "normalization",
    "crop",
    "output",
    "angle_order",
    "angle_convention",
    "training_data",
    "model_version",
    "headpose_version",
    "architecture",
    "precision",
    "quantized",
    "opset",
    "params",
    "macs",
    "size_bytes",
    "checkpoint",
    "metadata",
    "notice",
)


def add_commands(sub: argparse._SubParsersAction) -> None:
    bm = add_command(
        sub,
        "benchmark",
        "latency percentiles (ms) and throughput (images/s) of one model",
        BENCHMARK_EXAMPLES,
    )
    bm.add_argument("--model", metavar="REF", default="pretrained", help=MODEL_HELP)
    bm.add_argument("--threads", type=POSITIVE, default=1)
    bm.add_argument("--batch", type=integer(1, MAX_BATCH), default=1)
    bm.add_argument("--warmup", type=integer(0), default=5)
    bm.add_argument("--repeats", type=POSITIVE, default=50, help="timed calls for the latency percentiles")
    bm.add_argument(
        "--seconds",
        type=number(0, open_lo=True),
        default=1.0,
        help="time budget of the throughput measurement",
    )
    bm.add_argument("--json", dest="json_out", metavar="FILE", help="the result as JSON")
    bm.set_defaults(func=cmd_benchmark)

    ex = add_command(
        sub, "export", "write a model as one self-describing ONNX file, optionally INT8", EXPORT_EXAMPLES
    )
    ex.add_argument("--model", metavar="REF", default="pretrained", help=MODEL_HELP.replace(" / .engine", ""))
    ex.add_argument("--out", metavar="FILE", required=True, help="the .onnx file to write")
    ex.add_argument("--int8", action="store_true", help="static INT8 quantisation")
    ex.add_argument(
        "--int8-variant",
        default="cpu",
        choices=["cpu", "trt"],
        help="cpu: U8S8 for ONNX Runtime on x86; trt: S8S8 for TensorRT",
    )
    ex.add_argument(
        "--calibration-images", type=POSITIVE, default=256, help="synthetic renders for calibration"
    )
    ex.add_argument("--max-drop", type=number(0), default=0.3, help="INT8 MAE budget over FP32 (deg)")
    ex.add_argument(
        "--opset", type=integer(7), help="ONNX opset of a checkpoint export (default: the exporter's)"
    )
    ex.add_argument("--json", dest="json_out", metavar="FILE", help="the export report as JSON")
    ex.set_defaults(func=cmd_export, render=render_export)

    inf = add_command(
        sub,
        "info",
        "what a model expects and returns: input, normalisation, angles, training data",
        INFO_EXAMPLES,
    )
    inf.add_argument(
        "--model", metavar="REF", default="pretrained", help=MODEL_HELP.replace(" / .engine", "")
    )
    inf.add_argument("--json", dest="json_out", metavar="FILE", help="the information as JSON")
    inf.set_defaults(func=cmd_info, render=render_info)


def cmd_benchmark(args: argparse.Namespace) -> dict:
    import numpy as np

    from headpose.deploy.runtime import load_model
    from headpose.timing import measure_latency, measure_throughput

    model = load_model(not_teacher(args.model, "benchmark"), threads=args.threads)
    size = model.input_size
    # Model input is ImageNet-normalised, so standard-normal noise has the right range and shape.
    batch = np.random.default_rng(0).standard_normal((args.batch, 3, size, size)).astype(np.float32)
    latency = measure_latency(model.predict, batch, args.warmup, args.repeats)
    return {
        "model": str(model.path),
        "backend": model.backend,
        "input_size": size,
        "batch": args.batch,
        "threads": args.threads,
        "size_bytes": model.path.stat().st_size,
        **latency,
        "throughput": measure_throughput(model.predict, batch, args.seconds),
    }


def cmd_export(args: argparse.Namespace) -> dict:
    from headpose.inference.export import export_model

    return export_model(
        not_teacher(args.model, "export"),
        args.out,
        int8=args.int8,
        variant=args.int8_variant,
        calibration_images=args.calibration_images,
        max_drop_deg=args.max_drop,
        opset=args.opset,
    )


def render_export(r: dict) -> list[str]:
    lines = [
        f"wrote {r['out']} ({r['precision']}, {r['input_size']} px, {r['size_bytes']:,} bytes) "
        f"from {r['source']}"
    ]
    if r.get("parity"):
        lines.append(
            f"ONNX Runtime vs PyTorch: max {r['parity']['max_abs_diff_deg']:.4f} deg on "
            f"{int(r['parity']['n'])} synthetic crops"
        )
    if r.get("int8"):
        q = r["int8"]
        lines.append(
            f"INT8 ({q['variant']}): val MAE {q['int8_val_mae']:.3f} vs FP32 {q['fp32_val_mae']:.3f} deg "
            f"on {q['val_images']} synthetic renders (drop {q['drop_deg']:+.3f}, budget "
            f"{q['max_drop_deg']}); float units: {', '.join(q['float_units']) or 'none'}"
        )
    lines.append(
        f"metadata: {len(r['metadata'])} headpose.* entries (see `headpose info --model {r['out']}`)"
    )
    return lines


def cmd_info(args: argparse.Namespace) -> dict:
    from headpose.deploy.runtime import model_info

    return model_info(not_teacher(args.model, "info"))


def render_info(info: dict) -> list[str]:
    keys = [k for k in INFO_ORDER if k in info] + sorted(k for k in info if k not in INFO_ORDER)
    width = max(len(k) for k in keys)
    return [f"{k:<{width}}  {info[k]}" for k in keys]
