import numpy as np
import pytest

from headpose.data.crops import box_from_landmarks
from headpose.errors import ConfigError
from headpose.inference.detection import CropMapping


def test_identity_mapping_gives_the_training_crop_of_the_landmark_box():
    landmarks = np.array([[40.0, 50.0], [100.0, 60.0], [70.0, 130.0]])
    landmark_box = np.r_[landmarks.min(0), landmarks.max(0)]
    expected = box_from_landmarks(landmarks, 0.3)
    np.testing.assert_allclose(CropMapping(margin=0.3).crop_box(landmark_box), expected)


def test_mapping_scales_and_shifts_by_the_detector_box_side():
    box = CropMapping(scale=0.5, shift=(0.1, -0.2), margin=0.0).crop_box([0, 0, 100, 100])
    np.testing.assert_allclose(box, [35, 5, 85, 55])  # centre (60, 30), side 50
    with pytest.raises(ConfigError, match="crop_mapping.scale: expected a positive finite number, got 0.0"):
        CropMapping(scale=0)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: CropMapping(margin=-0.1), "crop_mapping.margin: -0.1 is outside [0.0, inf]"),
        (lambda: CropMapping(shift=(0.1,)), "crop_mapping.shift: expected a list of 2 values"),
    ],
)
def test_impossible_mapping_knobs_name_their_key(make, message):
    with pytest.raises(ConfigError) as info:
        make()
    assert message in str(info.value)
