"""The shipping decision: INT8 ships only when it is faster and within budget, measured alike with FP32."""

import math

import pytest

from headpose.compression.latency import InterleavedLatencyConfig
from headpose.compression.shipping import (
    Candidate,
    QuantizeConfig,
    choose_shipping,
    decide,
    measure_candidates,
    shipping_metrics,
)
from headpose.errors import ConfigError, GateError
from headpose.training.checkpoint import Checkpoint
from tests.compression.conftest import INPUT_SIZE
from tests.conftest import make_faceset


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


@pytest.fixture(scope="module")
def measured(tiny_onnx):
    """The tiny student's FP32 ONNX under two names, measured as the quantize stage measures its models
    (what makes a model INT8 is PTQ's business; here it is only the row's precision)."""
    faces = make_faceset(n=16, size=INPUT_SIZE, seed=1)
    candidates = [
        Candidate("s", "s", "fp32", "s_model", tiny_onnx.proto),
        Candidate("s_int8_cpu", "s", "int8", "s_int8_cpu_onnx", tiny_onnx.proto),
    ]
    checkpoints = {"s": Checkpoint(tiny_onnx.model, {"input_size": INPUT_SIZE})}
    latency = InterleavedLatencyConfig(runs=4, warmup=1, rounds=2)
    return measure_candidates(candidates, checkpoints, faces, None, latency)


def test_every_candidate_is_measured_alike_with_its_parents_footprint(measured):
    fp32, int8 = measured["s"], measured["s_int8_cpu"]
    assert (fp32["precision"], fp32["parent"], int8["parent"]) == ("fp32", None, "s")
    assert (
        fp32["params"] == int8["params"] and fp32["macs"] == int8["macs"] and fp32["input_size"] == INPUT_SIZE
    )
    assert fp32["latency_ms"] > 0 and int8["latency_p99_ms"] >= int8["latency_ms"]
    assert fp32["mae"] > 0 and fp32["mae_real"] is None  # no real set given
    assert int8["mae"] == pytest.approx(fp32["mae"]) and int8["dataset"] == "s_int8_cpu_onnx"


def test_the_decision_gates_int8_against_its_parent_and_names_the_dataset(measured):
    rows = {name: dict(row) for name, row in measured.items()}
    decision = decide(rows, QuantizeConfig(max_drop_deg=90.0, min_speedup=0.0))
    assert [g["dataset"] for g in rows["s_int8_cpu"]["gates"]] == ["test"] and "gates" not in rows["s"]
    assert decision["dataset"] == rows[decision["ships"]]["dataset"] and decision["metric"] == "mae"
    metrics = shipping_metrics(rows, decision)
    assert metrics["ships_int8"]["value"] == float(decision["precision"] == "int8")
    assert "s.latency_ms" in metrics and "s.input_size" not in metrics and "s.precision" not in metrics


def test_require_int8_fails_the_stage_when_fp32_ships(measured):
    rows = {name: dict(row) for name, row in measured.items()}
    with pytest.raises(GateError, match="quantize.require_int8 is set"):
        decide(rows, QuantizeConfig(max_drop_deg=0.0, min_speedup=1e9, require_int8=True))
