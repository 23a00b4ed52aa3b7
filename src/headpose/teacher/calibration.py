"""Correction of the teacher's yaw underestimate at profiles, fitted on renders with exact poses.

The Procrustes fit of MediaPipe's landmarks compresses large yaw (about -9 deg at |yaw| 60-75 and
-18 deg at 75-99 on AFLW2000): the network flattens the far side of a profile. We fit an odd,
monotone, piecewise-linear map raw |yaw| -> true |yaw| on images whose pose is known exactly
(:func:`fit_yaw_calibration`), ship its knots as ``assets/yaw_calibration.json`` and apply it to
every teacher label. Pitch and roll are left alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from headpose.errors import ConfigError
from headpose.io import atomic_path

CALIBRATION_PATH = Path(__file__).with_name("assets") / "yaw_calibration.json"


@dataclass(frozen=True)
class YawCalibration:
    raw_knots: np.ndarray  # increasing |raw yaw| knots, starting at 0
    true_knots: np.ndarray  # corrected |yaw| at each knot, non-decreasing
    source: str = ""

    def apply(self, ypr: np.ndarray) -> np.ndarray:
        out = np.array(ypr, np.float64, copy=True)
        yaw = out[..., 0]
        magnitude = np.abs(yaw)
        last = len(self.raw_knots) - 1
        # Beyond the last knot keep the last slope, so the map stays monotone.
        slope = (self.true_knots[last] - self.true_knots[last - 1]) / (
            self.raw_knots[last] - self.raw_knots[last - 1]
        )
        mapped = np.where(
            magnitude <= self.raw_knots[last],
            np.interp(magnitude, self.raw_knots, self.true_knots),
            self.true_knots[last] + slope * (magnitude - self.raw_knots[last]),
        )
        out[..., 0] = np.sign(yaw) * mapped
        return out

    def to_json(self) -> dict:
        return {
            "raw_knots": self.raw_knots.round(3).tolist(),
            "true_knots": self.true_knots.round(3).tolist(),
            "source": self.source,
        }

    def save(self, path: Path = CALIBRATION_PATH) -> Path:
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(self.to_json(), indent=1) + "\n")
        return path


def load_calibration(path: Path = CALIBRATION_PATH) -> YawCalibration:
    try:
        raw = json.loads(Path(path).read_text())
        return YawCalibration(
            np.asarray(raw["raw_knots"], np.float64),
            np.asarray(raw["true_knots"], np.float64),
            raw.get("source", ""),
        )
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(
            f"{path}: not a readable yaw calibration ({exc}); "
            "rebuild it with python -m headpose.teacher.fit_calibration"
        ) from exc


@cache
def default_calibration() -> YawCalibration:
    return load_calibration()


def fit_yaw_calibration(
    raw_yaw: np.ndarray, true_yaw: np.ndarray, knots_deg=(0, 15, 30, 45, 60, 70, 76), source: str = ""
) -> YawCalibration:
    """Least-squares piecewise-linear map |raw| -> |true| with knots at ``knots_deg`` of |raw| yaw,
    made monotone. Pairs whose signs disagree (a wrong-side estimate) are left out."""
    raw, true = np.abs(np.asarray(raw_yaw, np.float64)), np.abs(np.asarray(true_yaw, np.float64))
    same_side = np.sign(raw_yaw) == np.sign(true_yaw)
    raw, true = raw[same_side], true[same_side]
    knots = np.asarray(knots_deg, np.float64)
    knots = knots[knots <= raw.max()] if raw.max() > knots[1] else knots[:2]
    # Hat-function basis: the fitted value at each knot is a free parameter.
    basis = np.stack([np.interp(raw, knots, np.eye(len(knots))[k]) for k in range(len(knots))], -1)
    basis[:, -1] += np.clip(raw - knots[-1], 0, None) / (knots[-1] - knots[-2])  # extend the last piece
    values, *_ = np.linalg.lstsq(basis, true, rcond=None)
    values[0] = 0.0
    return YawCalibration(knots, np.maximum.accumulate(values), source)
