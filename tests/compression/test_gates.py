import math

import pytest

from headpose.compression.gates import check_drop, gate_record
from headpose.errors import ConfigError, GateError


def test_a_drop_past_the_budget_raises_naming_the_step_and_the_numbers():
    with pytest.raises(GateError) as info:
        check_drop("prune", parent_mae=5.0, mae=6.25, max_drop_deg=1.0)
    message = str(info.value)
    assert message.startswith("prune:")
    for number in ("6.250", "5.000", "1.250", "1.000"):
        assert number in message


def test_a_drop_within_budget_or_an_improvement_passes():
    assert check_drop("distill.student", 5.0, 5.9, 1.0)["passed"]
    record = check_drop("quantize", 5.0, 4.5, 0.3)
    assert record["drop_deg"] == pytest.approx(-0.5) and record["passed"]


def test_a_nan_mae_never_passes():
    assert not gate_record("prune", 5.0, math.nan, 1.0)["passed"]
    with pytest.raises(GateError):
        check_drop("prune", 5.0, math.nan, 1.0)


def test_a_negative_budget_is_a_config_error():
    with pytest.raises(ConfigError, match="max_drop_deg"):
        gate_record("prune", 5.0, 5.0, -0.1)


def test_check_drops_gates_every_measured_set_and_names_the_failing_one():
    from headpose.compression.gates import check_drops

    records = check_drops("prune", {"mae": 5.0, "mae_real": None}, {"mae": 5.5, "mae_real": 9.0}, 1.0)
    assert [r["dataset"] for r in records] == ["test"]  # the real set was not measured on the parent
    with pytest.raises(GateError, match="on the real set"):
        check_drops("prune", {"mae": 5.0, "mae_real": 6.0}, {"mae": 5.5, "mae_real": 7.5}, 1.0)
