import math

import pytest

from headpose.deploy.promotion import Gates, promotion_decision
from headpose.errors import ConfigError

GATES = Gates(mae_tolerance_deg=0.1, latency_budget_ms=5.0)


def test_decision_without_numbers_is_not_promoted():
    assert promotion_decision({"name": "x", "mae_synthetic": None, "p50_ms": 1.0}, None, GATES) == (
        False,
        "candidate x has no measured mae_synthetic/p50_ms",
    )


@pytest.mark.parametrize("mae, latency", [(math.nan, 1.0), (5.0, math.nan), (math.inf, 1.0)])
def test_non_finite_figures_are_never_promoted(mae, latency):
    promoted, why = promotion_decision({"name": "x", "mae_synthetic": mae, "p50_ms": latency}, None, GATES)
    assert not promoted and "non-finite" in why


def test_a_nan_champion_tag_sets_no_bar_and_the_candidate_is_judged_on_its_own():
    candidate = {"name": "x", "mae_synthetic": 50.0, "p50_ms": 1.0}
    assert promotion_decision(candidate, math.nan, GATES)[1].startswith("no current champion")
    assert not promotion_decision({**candidate, "p50_ms": 1e9}, math.nan, GATES)[
        0
    ]  # the latency gate still holds


def test_auto_metric_compares_real_mae_where_the_candidate_has_it():
    gates = Gates.from_dict({"mae_metric": "auto"})
    assert gates.for_candidate({"mae_synthetic": 4.0, "mae_real": 10.0}).mae_metric == "mae_real"
    assert gates.for_candidate({"mae_synthetic": 4.0, "mae_real": None}).mae_metric == "mae_synthetic"
    with pytest.raises(ConfigError, match="mae_metric"):
        Gates.from_dict({"mae_metric": "mae_typo"})
