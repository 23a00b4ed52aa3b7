"""Which artifacts the deploy stages handle: configured in parameters, missing ones reported."""

import pytest

from headpose.deploy.artifacts import ExportConfig, select
from headpose.errors import ConfigError, DatasetError

ENTRIES = [
    {"name": "teacher", "dataset": "teacher_model", "required": True},
    {"name": "pruned", "dataset": "pruned_model"},
    {
        "name": "student_int8",
        "dataset": "student_int8_onnx",
        "kind": "onnx",
        "precision": "int8",
        "source": "student",
    },
]


def _specs(entries):
    return ExportConfig.from_dict({"models": entries}).models


def test_present_artifacts_are_selected_and_absent_optional_ones_reported():
    available = {"teacher_model": "ckpt", "student_int8_onnx": None}
    present, missing = select(_specs(ENTRIES), available, "export")
    assert [(spec.name, value) for spec, value in present] == [("teacher", "ckpt")]
    assert missing == [
        {
            "name": "pruned",
            "dataset": "pruned_model",
            "reason": "catalog entry 'pruned_model' is not produced by any registered pipeline",
        },
        {
            "name": "student_int8",
            "dataset": "student_int8_onnx",
            "reason": "catalog entry 'student_int8_onnx' holds no data",
        },
    ]


def test_a_missing_required_artifact_stops_the_stage():
    with pytest.raises(
        DatasetError, match="required artifact 'teacher' is missing: catalog entry 'teacher_model'"
    ):
        select(_specs(ENTRIES), {}, "export")


@pytest.mark.parametrize(
    "entries, message",
    [
        ([{"name": "a"}], "export.models[0].dataset: required"),
        ([{"name": "a", "dataset": "x", "kind": "tflite"}], "export.models[0].kind: 'tflite' is not one of"),
        (
            [{"name": "a", "dataset": "x"}, {"name": "a", "dataset": "y"}],
            "export.models: artifact names must be unique",
        ),
        ([{"name": "a", "dataset": "x", "path": "a.pt"}], "export.models[0].path: unknown key"),
    ],
)
def test_bad_entries_are_rejected_naming_the_entry_and_key(entries, message):
    with pytest.raises(ConfigError) as info:
        _specs(entries)
    assert message in str(info.value)
