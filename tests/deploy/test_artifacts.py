"""Which artifacts the deploy stages handle: configured in parameters, missing ones reported."""

import pytest

from headpose.deploy.artifacts import parse_specs, select
from headpose.errors import ConfigError, DatasetError

ENTRIES = [
    {"name": "teacher", "dataset": "teacher_model", "required": True},
    {"name": "pruned", "dataset": "pruned_model"},
    {"name": "student_int8", "dataset": "student_int8_onnx", "kind": "onnx", "precision": "int8",
     "source": "student"},
]


def test_present_artifacts_are_selected_and_absent_optional_ones_reported():
    available = {"teacher_model": "ckpt", "student_int8_onnx": None}
    present, missing = select(parse_specs(ENTRIES, "export.models"), available, "export")
    assert [(spec.name, value) for spec, value in present] == [("teacher", "ckpt")]
    assert missing == [
        {"name": "pruned", "dataset": "pruned_model",
         "reason": "catalog entry 'pruned_model' is not produced by any registered pipeline"},
        {"name": "student_int8", "dataset": "student_int8_onnx",
         "reason": "catalog entry 'student_int8_onnx' holds no data"},
    ]


def test_a_missing_required_artifact_stops_the_stage():
    with pytest.raises(DatasetError, match="required artifact 'teacher' is missing: catalog entry 'teacher_model'"):
        select(parse_specs(ENTRIES, "export.models"), {}, "export")


@pytest.mark.parametrize("entries, message", [
    ([{"name": "a"}], "need name and dataset"),
    ([{"name": "a", "dataset": "x", "kind": "tflite"}], "kind 'tflite'"),
    ([{"name": "a", "dataset": "x"}, {"name": "a", "dataset": "y"}], "must be unique"),
    ([{"name": "a", "dataset": "x", "path": "a.pt"}], "allowed keys"),
])
def test_bad_entries_are_rejected_with_the_entry(entries, message):
    with pytest.raises(ConfigError, match=message):
        parse_specs(entries, "export.models")
