from pathlib import Path
from types import SimpleNamespace

import pytest

from headpose.data.pseudolabel.config import PoolConfig, PseudolabelConfig, Thresholds
from headpose.errors import ConfigError


def test_threshold_checks_run_in_order_and_nan_fails():
    thresholds = Thresholds(
        min_detector_score=0.5,
        min_presence=0.5,
        max_residual=1.0,
        min_face_px=40,
        max_abs_yaw=60,
        max_abs_pitch=50,
        max_abs_roll=40,
    )

    def label(score=0.9, presence=0.9, residual=0.5, angles=(0, 0, 0)):
        return SimpleNamespace(detector_score=score, presence=presence, residual=residual, angles=angles)

    assert thresholds.failure(label(), 100) is None
    assert thresholds.failure(label(score=0.4, presence=0.1), 100)[0] == "detector_score"
    assert thresholds.failure(label(presence=0.1, residual=2.0), 100)[0] == "presence"
    assert thresholds.failure(label(residual=float("nan")), 100)[0] == "residual"
    assert thresholds.failure(label(), 30)[0] == "face_px"
    assert thresholds.failure(label(), float("nan"))[0] == "face_px"
    assert [thresholds.failure(label(angles=a), 100)[0] for a in ((-61, 0, 0), (0, 51, 0), (0, 0, -41))] == [
        "yaw",
        "pitch",
        "roll",
    ]


def test_subject_rules():
    assert PoolConfig("lfw", "parent").subject_of("Ann_Smith/Ann_Smith_0001.jpg") == "Ann_Smith"
    assert PoolConfig("utk", "stem").subject_of("25_1_0_2017.jpg.chip.jpg") == "25_1_0_2017.jpg.chip"
    by_group = PoolConfig("x", r"^(\d+)_")
    assert by_group.subject_of("25_1_0.jpg") == "25" and by_group.subject_of("nope.jpg") is None
    assert PoolConfig("x", r"[a-z]+").subject_of("12/abc.jpg") == "abc"


def test_config_defaults():
    config = PseudolabelConfig.from_dict(
        {"pools": {"lfw": {"root": "data/lfw", "subject": "parent"}}, "thresholds": {"min_face_px": 32}}
    )
    assert config.pools["lfw"] == PoolConfig(Path("data/lfw"), "parent", "**/*.jpg")
    assert config.image_size == 128 and config.margin == 0.25 and config.max_faces_per_image == 1
    assert config.thresholds.min_face_px == 32.0 and config.thresholds.max_abs_yaw == 99.0
    assert config.limit is None and config.workers is None and config.threads == 1


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"pools": {}, "size": 128}, r"^pseudolabel.size: unknown key; known keys are \['image_size'"),
        ({"pools": {}, "thresholds": {"min_score": 0.5}}, r"^pseudolabel.thresholds.min_score: unknown key"),
        (
            {"pools": {"a": {"root": "x", "subject": "stem", "glob": "*"}}},
            "^pseudolabel.pools.a.glob: unknown key",
        ),
        ({"pools": {"a": {"root": "x"}}}, "pseudolabel.pools.a.subject: required"),
        ({"pools": {"a": {"subject": "stem"}}}, "pseudolabel.pools.a.root: required"),
        ({"pools": {"a": {"root": "x", "subject": "(unclosed"}}}, "pools.a.subject: .* not one of"),
        ({"pools": {"a": {"root": "x", "subject": "stem", "pattern": 3}}}, "pseudolabel.pools.a.pattern"),
        ({"pools": {"my pool": {"root": "x", "subject": "stem"}}}, "pool name 'my pool'"),
        ({"pools": ["lfw"]}, "pseudolabel.pools: expected a mapping"),
        ({"pools": {}, "image_size": "big"}, "pseudolabel.image_size: expected an integer"),
        ({"pools": {}, "image_size": 8}, r"pseudolabel.image_size: 8 is outside \[16, 1024\]"),
        ({"pools": {}, "workers": True}, "pseudolabel.workers: expected null or an integer, got True"),
        ({"pools": {}, "limit": 0}, "pseudolabel.limit: 0 is outside"),
        ({"pools": {}, "thresholds": {"min_presence": 1.5}}, "pseudolabel.thresholds.min_presence: 1.5"),
        (
            {"pools": {}, "thresholds": {"min_detector_score": 0}},
            "pseudolabel.thresholds.min_detector_score: expected a number > 0, got 0.0",
        ),
        (
            {"pools": {}, "thresholds": {"max_residual": float("nan")}},
            "pseudolabel.thresholds.max_residual: expected a number, got nan",
        ),
        ({"pools": {"a": {"root": "x", "subject": ""}}}, "pseudolabel.pools.a.subject: expected one of"),
        (
            {"pools": {"a": {"root": "", "subject": "stem"}}},
            "pseudolabel.pools.a.root: expected a folder path",
        ),
    ],
)
def test_config_errors_name_the_key(raw, message):
    with pytest.raises(ConfigError, match=message):
        PseudolabelConfig.from_dict(raw)
