"""The Config base: one message format for every parameter block."""

from dataclasses import dataclass, field

import pytest

from headpose.config import Config, knob
from headpose.errors import ConfigError


@dataclass(frozen=True)
class Inner(Config, section="toy.inner"):
    weight: float = knob(1.0, lo=0.0)


@dataclass(frozen=True)
class Toy(Config, section="toy"):
    ratio: float = knob(0.5, lo=0.0, hi=1.0)
    steps: int | None = knob(None, lo=1)
    method: str = knob("l1", choices=("l1", "bn"))
    window: tuple[float, float] = knob((0.0, 1.0), lo=0.0, hi=10.0, ordered=True)
    enabled: bool = True
    names: list[str] = knob(["a"])
    weights: dict[str, float] = knob({}, lo=0.0)
    inner: Inner = field(default_factory=Inner)

    def check(self) -> None:
        if self.method == "bn" and self.steps is None:
            raise self.problem("steps", "the bn method needs a step budget")


def test_values_come_out_canonical():
    toy = Toy.from_dict({"ratio": 1, "steps": 3.0, "window": [1, 2], "inner": {"weight": 2}})
    assert toy.ratio == 1.0 and isinstance(toy.ratio, float)
    assert toy.steps == 3 and isinstance(toy.steps, int)
    assert toy.window == (1.0, 2.0)
    assert toy.inner == Inner(weight=2.0)
    assert Toy.from_dict(None) == Toy()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"rato": 0.1}, "toy.rato: unknown key; did you mean 'ratio'?"),
        ({"ratio": "high"}, "toy.ratio: expected a number, got 'high'"),
        ({"ratio": True}, "toy.ratio: expected a number, got True"),
        ({"ratio": 1.5}, "toy.ratio: 1.5 is outside [0.0, 1.0]"),
        ({"ratio": float("nan")}, "toy.ratio: expected a number, got nan"),
        ({"ratio": float("inf")}, "toy.ratio: inf is outside [0.0, 1.0]"),
        ({"steps": 0}, "toy.steps: 0 is outside [1, inf]"),
        ({"steps": "many"}, "toy.steps: expected null or an integer, got 'many'"),
        ({"method": "l2"}, "toy.method: 'l2' is not one of ['l1', 'bn']"),
        ({"window": [3, 2]}, "toy.window: expected [low, high] with low <= high, got [3, 2]"),
        ({"window": [1, 20]}, "toy.window[1]: 20.0 is outside [0.0, 10.0]"),
        ({"enabled": "yes"}, "toy.enabled: expected true or false, got 'yes'"),
        ({"names": ["a", 1]}, "toy.names[1]: expected a string, got 1"),
        ({"weights": {"a": -1}}, "toy.weights.a: -1.0 is outside [0.0, inf]"),
        ({"inner": {"weight": -1}}, "toy.inner.weight: -1.0 is outside [0.0, inf]"),
        ({"inner": {"wieght": 1}}, "toy.inner.wieght: unknown key; did you mean 'weight'?"),
        ({"method": "bn"}, "toy.steps: the bn method needs a step budget"),
    ],
)
def test_every_problem_names_its_key(raw, message):
    with pytest.raises(ConfigError) as info:
        Toy.from_dict(raw)
    assert str(info.value) == message


def test_a_block_that_is_not_a_mapping_is_named():
    with pytest.raises(ConfigError, match=r"^toy: expected a mapping of parameters, got \[1\]"):
        Toy.from_dict([1])


def test_direct_construction_is_checked_too():
    with pytest.raises(ConfigError, match=r"^toy.ratio: 2.0 is outside"):
        Toy(ratio=2)
    assert Toy.from_dict({"ratio": 0.25}, section="prune").ratio == 0.25
    with pytest.raises(ConfigError, match=r"^prune.ratio:"):
        Toy.from_dict({"ratio": -1}, section="prune")
