import pytest

from headpose.errors import ConfigError
from headpose.inference.config import PredictConfig
from headpose.inference.smoothing import SmoothingConfig


def test_predict_config_parses_nested_smoothing_from_a_mapping():
    config = PredictConfig.from_dict({"box_shift": [0, 0.1], "smoothing": {"beta": 0.1}, "batch_size": 8})
    assert config.box_shift == (0.0, 0.1) and config.smoothing == SmoothingConfig(beta=0.1)
    assert PredictConfig.from_dict(None) == PredictConfig()


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"on_large": "crop"}, "predict.on_large: 'crop' is not one of ['downscale', 'refuse']"),
        ({"device": "tpu"}, "predict.device: 'tpu' is not one of ['auto', 'cpu', 'cuda']"),
        ({"detector": "haar"}, "predict.detector: 'haar' is not one of"),
        ({"batch_size": 0}, "predict.batch_size: 0 is outside [1, inf]"),
        ({"max_frames": 0}, "predict.max_frames: 0 is outside [1, inf]"),
        ({"fourcc": "mp4"}, "predict.fourcc: expected 4 characters"),
        ({"margin": -0.1}, "predict.margin: -0.1 is outside [0.0, inf]"),
        ({"smoothing": {"min_cutoff": 0}}, "predict.smoothing.min_cutoff: must be > 0"),
        ({"smoothing": {"beta": float("nan")}}, "predict.smoothing.beta: expected a number, got nan"),
        ({"smoothing": {"beta": float("inf")}}, "predict.smoothing.beta: expected a finite number"),
        ({"queue_sise": 4}, "predict.queue_sise: unknown key; did you mean 'queue_size'?"),
    ],
)
def test_impossible_predict_knobs_name_their_key(raw, message):
    with pytest.raises(ConfigError) as info:
        PredictConfig.from_dict(raw)
    assert message in str(info.value)


def test_direct_construction_is_checked_too():
    with pytest.raises(ConfigError, match="predict.detect_workers: 0 is outside"):
        PredictConfig(detect_workers=0)
    with pytest.raises(ConfigError, match="smoothing.d_cutoff: must be > 0"):
        SmoothingConfig(d_cutoff=0)
