"""Fit the teacher's yaw correction on renders whose poses are known, and ship it.

    python -m headpose.teacher.fit_calibration [--images 4000] [--seed 91] [--renders FACESET]

By default it renders synthetic heads at yaw over +-99 deg with photo-like pitch and roll.
``--renders`` takes a FaceSet of such crops instead, e.g. the ``profile`` stage's real photos
re-rendered at new poses (``data/03_primary/profiled``): their labels are exact relative to the
teacher's reading of the near-frontal original, and they look like photos, not mannequins.
The uncorrected teacher labels each crop (the ROI is the training crop, 1.6 x the landmark box);
:func:`calibration.fit_yaw_calibration` is fitted on the even-indexed crops and the MAE per |yaw|
bucket is printed before and after the correction on the odd-indexed ones. Writes
``assets/yaw_calibration.json``.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from tqdm.auto import tqdm

from headpose.angles import euler_to_matrix, geodesic_deg
from headpose.data.faceset import FaceSet, load_faceset
from headpose.synth.generate import generate
from headpose.teacher.calibration import CALIBRATION_PATH, fit_yaw_calibration
from headpose.teacher.landmarker import ROI_SCALE, Roi
from headpose.teacher.teacher import MediaPipeTeacher

RENDER_PARAMS = {
    "pitch_range": [-45, 45],
    "roll_range": [-40, 40],
    "pitch_std": 15,
    "roll_std": 12,
    "large_angle_fraction": 0.3,
    "occlusion_probability": 0.0,
}
CALIBRATION_BUCKETS = ((0, 30), (30, 60), (60, 75), (75, 100))
# Renders the landmark network plainly misreads (a wrong face orientation) carry no calibration signal.
MAX_GEODESIC_ERROR_DEG = 35.0


def teacher_on_renders(faces: FaceSet) -> tuple[np.ndarray, np.ndarray]:
    """(raw teacher angles, true angles) of training-style crops, each (N, 3) degrees."""
    teacher = MediaPipeTeacher(calibration=None)
    side = faces.images.shape[1]
    roi = Roi((side / 2, side / 2), side * ROI_SCALE / 1.5)  # render crops are 1.5 x the landmark box
    raw = np.array(
        [
            teacher.label_roi(image, roi).raw_angles
            for image in tqdm(faces.images, desc="teacher on renders", unit="img")
        ]
    )
    return raw, faces.angles.astype(np.float64)


def yaw_table(pred: np.ndarray, true: np.ndarray) -> dict[str, dict[str, float]]:
    """Per |true yaw| bucket: count, mean absolute yaw error and signed yaw error (+ = overestimate)."""
    table = {}
    for lo, hi in CALIBRATION_BUCKETS:
        mask = (np.abs(true[:, 0]) >= lo) & (np.abs(true[:, 0]) < hi)
        signed = np.sign(true[mask, 0]) * (pred[mask, 0] - true[mask, 0])
        table[f"{lo}-{min(hi, 99)}"] = {
            "n": int(mask.sum()),
            "yaw_mae": round(float(np.abs(signed).mean()), 2),
            "yaw_signed": round(float(signed.mean()), 2),
        }
    return table


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=91)
    parser.add_argument(
        "--renders", help="FaceSet of crops with known poses (default: render synthetic heads)"
    )
    args = parser.parse_args(argv)
    if args.renders:
        faces = load_faceset(args.renders)
        faces = faces.subset(
            np.random.default_rng(args.seed).choice(len(faces), min(args.images, len(faces)), replace=False)
        )
        source = f"{args.renders}: {{n}} of {len(faces)} crops, seed {args.seed}"
    else:
        faces = generate({"num_images": args.images, "image_size": 128, "seed": args.seed, **RENDER_PARAMS})
        source = f"synthetic renders: {{n}} images, seed {args.seed}"
    raw, true = teacher_on_renders(faces)
    sane = geodesic_deg(euler_to_matrix(*raw.T), euler_to_matrix(*true.T)) < MAX_GEODESIC_ERROR_DEG
    fit_part = sane & (np.arange(len(raw)) % 2 == 0)
    held_out = sane & (np.arange(len(raw)) % 2 == 1)
    calibration = fit_yaw_calibration(
        raw[fit_part, 0], true[fit_part, 0], source=source.format(n=int(fit_part.sum()))
    )
    calibration.save(CALIBRATION_PATH)
    report = {
        "renders": int(len(raw)),
        "kept": int(sane.sum()),
        "fitted_on": int(fit_part.sum()),
        "held_out_before": yaw_table(raw[held_out], true[held_out]),
        "held_out_after": yaw_table(calibration.apply(raw[held_out]), true[held_out]),
        "calibration": calibration.to_json(),
        "written": str(CALIBRATION_PATH),
    }
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
