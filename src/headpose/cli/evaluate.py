"""``headpose evaluate``: MAE of a model, or of the MediaPipe teacher, on an AFLW2000-format folder."""

from __future__ import annotations

import argparse
from typing import Any

from headpose.cli.common import MODEL_HELP, POSITIVE, add_command
from headpose.teacher import TEACHER

EXAMPLES = """examples:
  headpose evaluate --root data/01_raw/aflw2000-dev
  headpose evaluate --root /data/AFLW2000 --model models:/headpose@champion --json aflw.json
  headpose evaluate --root /data/AFLW2000 --model mediapipe    # the teacher, on ground-truth-landmark crops
crops follow the benchmark protocol: a square around the ground-truth landmarks; aflw2000_standard keeps
faces whose three angles are within +-99 deg."""


def add_commands(sub: argparse._SubParsersAction) -> None:
    ev = add_command(
        sub, "evaluate", "MAE of a model on a real AFLW2000-format folder, overall and by |yaw|", EXAMPLES
    )
    ev.add_argument("--dataset", default="aflw2000", choices=["aflw2000"])  # the only one with a reader here
    ev.add_argument("--root", metavar="FOLDER", required=True, help="folder of *.jpg + *.mat")
    ev.add_argument(
        "--model", metavar="REF", default="pretrained", help=MODEL_HELP + ", or mediapipe (the teacher)"
    )
    ev.add_argument("--protocol", default="aflw2000_standard", choices=["aflw2000_standard", "all"])
    ev.add_argument("--no-calibration", action="store_true", help="--model mediapipe: uncorrected yaw")
    ev.add_argument("--threads", type=POSITIVE, default=None)
    ev.add_argument("--json", dest="json_out", metavar="FILE", help="the metrics as JSON")
    ev.add_argument("--skip-report", metavar="FILE", help="CSV of every skipped file and why")
    ev.add_argument("--quiet", action="store_true", help="no progress bar")
    ev.set_defaults(func=cmd_evaluate, render=render_evaluate)


def cmd_evaluate(args: argparse.Namespace) -> dict:
    if args.model == TEACHER:
        return _evaluate_teacher(args)

    from headpose.data.aflw2000 import read_aflw2000
    from headpose.deploy.runtime import load_model
    from headpose.evaluation import mae_by_yaw_bucket, pose_metrics, predict_faceset

    model = load_model(args.model, threads=args.threads)
    faces, skipped = read_aflw2000(
        args.root, crop_size=128, protocol=args.protocol, on_bad_sample="skip", progress=not args.quiet
    )
    pred = predict_faceset(model.predict, faces, model.input_size, progress=not args.quiet)
    return {
        **pose_metrics(pred, faces.angles),
        "buckets": mae_by_yaw_bucket(pred, faces.angles),
        "skipped": int(len(skipped)),
        **_skip_report(skipped, args.skip_report),
        "model": str(model.path),
        "backend": model.backend,
        "root": str(args.root),
        "protocol": args.protocol,
    }


def _evaluate_teacher(args: argparse.Namespace) -> dict:
    from headpose.inference.label import evaluate_teacher

    result = evaluate_teacher(
        args.root,
        args.protocol,
        calibrated=not args.no_calibration,
        threads=args.threads or 1,
        progress=not args.quiet,
    )
    skipped = result.pop("skip_report")
    return {
        **result,
        **_skip_report(skipped, args.skip_report),
        "root": str(args.root),
        "protocol": args.protocol,
    }


def _skip_report(report, path: str | None) -> dict:
    """The bad files of a read's skip report, for the result; the whole report (protocol exclusions
    too) as CSV at ``path`` when given."""
    if path:
        from headpose.io import atomic_text

        with atomic_text(path) as out:
            report.to_csv(out, index=False)
    bad = report[report.kind == "bad_sample"]
    return {
        "bad_files": [{"file": f, "problem": p} for f, p in zip(bad.file, bad.problem)],
        "skip_report": path,
    }


def _deg(value: Any) -> str:
    return "-" if value is None else f"{value:.2f}"


def render_evaluate(r: dict) -> list[str]:
    lines = [
        f"{r['model']} ({r['backend']}) on {r['root']}: {int(r['n'])} faces, {r['skipped']} skipped "
        f"(protocol {r['protocol']})"
    ]
    if r.get("bad_files"):
        first = r["bad_files"][0]
        where = (
            f"; all in {r['skip_report']}" if r.get("skip_report") else "; --skip-report FILE lists them all"
        )
        lines.append(
            f"{len(r['bad_files'])} bad file(s) skipped, first {first['file']}: {first['problem']}{where}"
        )
    if r.get("n"):
        lines.append(
            f"MAE {r['mae']:.2f} deg (yaw {r['yaw']:.2f}, pitch {r['pitch']:.2f}, roll {r['roll']:.2f}); "
            f"geodesic mean {r['geodesic_mean']:.2f}, median {r['geodesic_median']:.2f} deg"
        )
    lines.append(f"{'|yaw| deg':>10} {'faces':>6} {'MAE':>6} {'yaw':>6} {'pitch':>6} {'roll':>6}")
    for b in r["buckets"]:
        lines.append(
            f"{b['bucket']:>10} {b['n']:>6} {_deg(b['mae']):>6} {_deg(b['yaw']):>6} "
            f"{_deg(b['pitch']):>6} {_deg(b['roll']):>6}"
        )
    if "calibrated" in r:
        lines.append(
            f"teacher {r['teacher_version']}, "
            + ("calibrated yaw" if r["calibrated"] else "uncorrected yaw (--no-calibration)")
        )
    return lines
