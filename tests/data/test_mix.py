import pytest

from headpose.data.mix import mix_sources
from headpose.errors import ConfigError
from tests.conftest import make_faceset


@pytest.fixture
def sources():
    return {
        "synthetic": make_faceset(40, seed=1).subset(range(40)),
        "pseudolabel": make_faceset(10, seed=2),
        "profiled": make_faceset(0),
    }


def _counts(faces, sources):
    return {name: int(faces.labels["yaw"].isin(s.labels["yaw"]).sum()) for name, s in sources.items()}


def test_ratios_set_the_share_of_each_source(sources):
    mixed = mix_sources(sources, {"synthetic": 0.25, "pseudolabel": 0.75}, size=40, seed=0)
    assert len(mixed) == 40
    assert _counts(mixed, sources) == {"synthetic": 10, "pseudolabel": 30, "profiled": 0}


def test_size_null_keeps_the_total_and_a_lone_source_whole(sources):
    mixed = mix_sources(sources, {"synthetic": 0.5, "pseudolabel": 0.5, "profiled": 1.0}, size=None, seed=0)
    assert _counts(mixed, sources) == {"synthetic": 25, "pseudolabel": 25, "profiled": 0}  # empty drops out
    alone = mix_sources(sources, {"synthetic": 1.0, "profiled": 1.0}, size=None, seed=0)
    assert alone.labels.equals(sources["synthetic"].labels)


def test_same_seed_same_mix(sources):
    a = mix_sources(sources, {"synthetic": 1, "pseudolabel": 1}, size=30, seed=3)
    b = mix_sources(sources, {"synthetic": 1, "pseudolabel": 1}, size=30, seed=3)
    assert a.labels.equals(b.labels)


@pytest.mark.parametrize(
    "ratios, size, match",
    [
        ({"nope": 1.0}, 10, "mix.ratios: unknown sources"),
        ({"synthetic": -1}, 10, "mix.ratios.synthetic: expected a number >= 0, got -1.0"),
        ({"synthetic": float("nan")}, 10, "mix.ratios.synthetic: expected a number, got nan"),
        ({"synthetic": True}, 10, "mix.ratios.synthetic: expected a number, got True"),
        ({"synthetic": 1}, 0, r"mix.size: 0 is outside \[1, inf\]"),
        ({"synthetic": 1}, 2.5, "mix.size: expected null or an integer, got 2.5"),
        ({"profiled": 1}, 10, "no source"),
    ],
)
def test_bad_mix_is_a_config_error_naming_the_key(sources, ratios, size, match):
    with pytest.raises(ConfigError, match=match):
        mix_sources(sources, ratios, size=size, seed=0)
