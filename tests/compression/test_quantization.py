import math

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from headpose.compression.quantization import (
    HEAD,
    FaceSetCalibrationReader,
    PTQConfig,
    Variant,
    choose_shipping,
    count_qdq,
    ptq_within_budget,
    quantization_units,
)
from headpose.data.preprocess import to_model_input
from headpose.errors import ConfigError
from tests.compression.conftest import INPUT_SIZE
from tests.conftest import make_faceset

CPU = Variant("uint8", "int8", False, True, True, "onnxruntime-cpu")


def _run(model: onnx.ModelProto, batch: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: batch})[0]


def _float_weight_ops(model: onnx.ModelProto) -> set[str]:
    """Op types of weighted layers whose weight is a plain float initializer (not fed by DequantizeLinear)."""
    initializers = {i.name: i for i in model.graph.initializer}
    return {
        n.op_type
        for n in model.graph.node
        if n.op_type in ("Conv", "Gemm")
        and n.input[1] in initializers
        and initializers[n.input[1]].data_type == onnx.TensorProto.FLOAT
    }


def test_units_cover_every_node_once_with_the_head_last(tiny_onnx):
    units = quantization_units(tiny_onnx.proto, groups=3)
    names = [n for nodes in units.values() for n in nodes]
    assert names == [n.name for n in tiny_onnx.proto.graph.node]
    assert list(units) == ["backbone.0", "backbone.1", "backbone.2", HEAD]
    head_ops = {n.op_type for n in tiny_onnx.proto.graph.node if n.name in units[HEAD]}
    assert "Gemm" in head_ops and "Conv" not in head_ops


def test_calibration_reader_feeds_preprocessed_batches_and_rewinds():
    faces = make_faceset(n=10, size=48)
    reader = FaceSetCalibrationReader(faces, INPUT_SIZE, batch_size=4, max_images=9)
    batches = [b["image"] for b in iter(reader.get_next, None)]
    assert [len(b) for b in batches] == [4, 4, 1] and len(reader) == 9
    np.testing.assert_array_equal(batches[0], to_model_input(faces.images[:4], INPUT_SIZE))
    reader.rewind()
    assert reader.get_next()["image"].shape == (4, 3, INPUT_SIZE, INPUT_SIZE)


def test_ptq_writes_qdq_that_runs_in_onnxruntime_with_the_head_kept_in_float(tiny_onnx):
    calibration, val = (
        make_faceset(n=16, size=INPUT_SIZE, seed=1),
        make_faceset(n=16, size=INPUT_SIZE, seed=2),
    )
    config = PTQConfig(max_drop_deg=90.0, sensitivity_groups=2, calibration_batch_size=8)
    model, report = ptq_within_budget(tiny_onnx.proto, calibration, val, INPUT_SIZE, CPU, config)

    qdq = count_qdq(model)
    assert qdq["QuantizeLinear"] > 0 and qdq["DequantizeLinear"] > 0
    assert "Conv" not in _float_weight_ops(model)  # every conv's weight goes through DequantizeLinear
    assert "Gemm" in _float_weight_ops(model)  # the regression head stays float
    assert report["float_units"] == [HEAD] and set(report["sensitivity"]) == {
        "backbone.0",
        "backbone.1",
        HEAD,
    }
    assert report["within_budget"] and report["variant"]["activation_type"] == "uint8"
    batch = to_model_input(val.images[:3], INPUT_SIZE)
    assert _run(model, batch).shape == (3, 3)
    assert _run(model, batch[:1]).shape == (1, 3)


def test_when_int8_misses_the_budget_units_go_back_to_float_head_first_then_most_sensitive(tiny_onnx):
    calibration, val = (
        make_faceset(n=16, size=INPUT_SIZE, seed=1),
        make_faceset(n=16, size=INPUT_SIZE, seed=2),
    )
    # Labels = the FP32 model's own answers: FP32 MAE is 0, so any INT8 error misses a zero budget.
    val.labels[["yaw", "pitch", "roll"]] = _run(tiny_onnx.proto, to_model_input(val.images, INPUT_SIZE))
    config = PTQConfig(max_drop_deg=0.0, sensitivity_groups=2, calibration_batch_size=8)
    model, report = ptq_within_budget(tiny_onnx.proto, calibration, val, INPUT_SIZE, CPU, config)

    assert report["fp32_val_mae"] < 1e-3
    assert all(s["increase_deg"] > 0 for s in report["sensitivity"].values())
    by_sensitivity = sorted(
        ["backbone.0", "backbone.1"], key=lambda u: -report["sensitivity"][u]["increase_deg"]
    )
    assert [a["float_units"] for a in report["attempts"]] == [
        [HEAD],
        [HEAD, by_sensitivity[0]],
        [HEAD, *by_sensitivity],
    ]
    assert all(a["drop_deg"] > 0 for a in report["attempts"][:-1])
    # Everything back in float: no INT8 layer is left and the report says the budget was met only so.
    assert report["int8_units"] == [] and count_qdq(model)["QuantizeLinear"] == 0


def test_ptq_config_rejects_unknown_types_and_keys():
    with pytest.raises(ConfigError):
        PTQConfig.from_dict({"variants": {"cpu": {"activation_type": "int4"}}})
    with pytest.raises(ConfigError):
        PTQConfig.from_dict({"calibration_method": "magic"})
    with pytest.raises(ConfigError):
        PTQConfig.from_dict({"variants": {"cpu": {"bits": 8}}})


def _fp32(name: str, mae: float, ms: float) -> dict:
    return {"name": name, "precision": "fp32", "mae": mae, "latency_ms": ms}


def _int8(name: str, parent: str, mae: float, ms: float) -> dict:
    return {"name": name, "precision": "int8", "parent": parent, "mae": mae, "latency_ms": ms}


def test_int8_ships_when_it_is_faster_and_within_budget():
    decision = choose_shipping([_fp32("s", 5.0, 1.0), _int8("s_int8", "s", 5.2, 0.5)], max_drop_deg=0.3)
    assert decision["ships"] == "s_int8" and decision["precision"] == "int8"
    assert "2.00x faster" in decision["reason"]


@pytest.mark.parametrize(
    ("int8_mae", "int8_ms", "why"),
    [
        (5.1, 1.2, "not faster"),  # slower
        (5.1, 1.0, "not faster"),  # equally fast
        (5.5, 0.5, "worse than its FP32"),  # past the accuracy budget
        (math.nan, 0.5, "worse than its FP32"),
    ],
)
def test_a_slower_or_less_accurate_int8_model_never_ships(int8_mae, int8_ms, why):
    decision = choose_shipping(
        [_fp32("s", 5.0, 1.0), _int8("s_int8", "s", int8_mae, int8_ms)], max_drop_deg=0.3
    )
    assert decision["ships"] == "s" and decision["precision"] == "fp32"
    assert "does not pay" in decision["reason"] and why in decision["reason"]


def test_int8_of_a_weaker_student_must_also_stay_within_budget_of_the_best_fp32_model():
    candidates = [_fp32("big", 5.0, 2.0), _fp32("small", 5.5, 1.0), _int8("small_int8", "small", 5.6, 0.4)]
    decision = choose_shipping(candidates, max_drop_deg=0.3)
    assert decision["ships"] == "big"
    verdict = decision["int8_verdicts"][0]
    assert not verdict["eligible"] and "most accurate FP32 model big" in verdict["reasons"][0]


def test_the_fastest_eligible_int8_model_ships_and_min_speedup_is_enforced():
    candidates = [
        _fp32("s", 5.0, 1.0),
        _int8("s_cpu", "s", 5.1, 0.6),
        _int8("s_qat", "s", 5.0, 0.5),
        _int8("s_trt", "s", 5.05, 0.98),
    ]
    assert choose_shipping(candidates, max_drop_deg=0.3)["ships"] == "s_qat"
    decision = choose_shipping(candidates, max_drop_deg=0.3, min_speedup=2.5)
    assert decision["ships"] == "s" and all(not v["eligible"] for v in decision["int8_verdicts"])


def test_shipping_needs_an_fp32_reference_and_known_parents():
    with pytest.raises(ConfigError):
        choose_shipping([_int8("s_int8", "s", 5.0, 0.5)], 0.3)
    with pytest.raises(ConfigError):
        choose_shipping([_fp32("s", 5.0, 1.0), _int8("x_int8", "x", 5.0, 0.5)], 0.3)
