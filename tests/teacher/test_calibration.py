import json

import numpy as np
import pytest

from headpose.errors import ConfigError
from headpose.teacher.calibration import default_calibration, fit_yaw_calibration, load_calibration


def test_fit_inverts_a_known_profile_compression():
    rng = np.random.default_rng(0)
    true = rng.uniform(-99, 99, 4000)
    raw = np.sign(true) * np.where(np.abs(true) < 45, np.abs(true), 45 + 0.6 * (np.abs(true) - 45))
    calibration = fit_yaw_calibration(
        raw + rng.normal(0, 0.5, raw.shape), true, knots_deg=(0, 20, 45, 60, 75)
    )
    ypr = np.column_stack([raw, np.full_like(raw, 7.0), np.full_like(raw, -3.0)])
    corrected = calibration.apply(ypr)
    assert np.abs(corrected[:, 0] - true).mean() < 1.0
    np.testing.assert_array_equal(corrected[:, 1:], ypr[:, 1:])  # pitch and roll are untouched


def test_correction_is_odd_and_monotone():
    calibration = default_calibration()
    yaw = np.linspace(-95, 95, 381)
    out = calibration.apply(np.column_stack([yaw, np.zeros_like(yaw), np.zeros_like(yaw)]))[:, 0]
    np.testing.assert_allclose(out, -out[::-1], atol=1e-9)
    assert (np.diff(out) >= 0).all()


def test_unreadable_calibration_names_the_file(tmp_path):
    path = tmp_path / "yaw_calibration.json"
    path.write_text(json.dumps({"raw_knots": [0, 10]}))
    with pytest.raises(ConfigError, match="yaw_calibration.json"):
        load_calibration(path)
