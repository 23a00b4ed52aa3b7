import numpy as np
import pytest

from headpose.synth.head_basis import EXPRESSION_NAMES, SHAPE_NAMES
from headpose.synth.head_model import HeadModel, head_model


@pytest.fixture(scope="module")
def model() -> HeadModel:
    return head_model()


def _edges(triangles: np.ndarray) -> np.ndarray:
    return np.unique(np.sort(triangles[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), 1), axis=0)


def test_parameter_counts_and_basis_shapes(model):
    assert (model.num_shape, model.num_expression) == (10, 6)
    assert (len(SHAPE_NAMES), len(EXPRESSION_NAMES)) == (10, 6)
    assert model.shape_basis.shape == (10, model.num_vertices, 3)
    assert model.expression_basis.shape == (6, model.num_vertices, 3)


def test_every_component_moves_the_head_smoothly_by_a_plausible_amount(model):
    edges = _edges(model.triangles)
    length = np.linalg.norm(model.mean[edges[:, 0]] - model.mean[edges[:, 1]], axis=1)
    for name, field in zip(SHAPE_NAMES, model.shape_basis):
        assert 0.2 < np.linalg.norm(field, axis=1).max() < 1.0, name  # cm per standard deviation
        strain = np.linalg.norm(field[edges[:, 0]] - field[edges[:, 1]], axis=1) / length
        assert strain.max() < 0.2, name  # one unit stretches no edge by more than 20%


def test_shape_and_expressions_are_mirror_symmetric_except_jaw_sideways(model):
    mirror = np.array([-1.0, 1.0, 1.0])
    v = model.mean.astype(np.float64)
    # The canonical mesh and everything built on it is symmetric: pair each vertex with its mirror.
    pairs = np.array([np.argmin(np.linalg.norm(v - p * mirror, axis=1)) for p in v])
    assert np.allclose(v[pairs], v * mirror, atol=1e-4)
    named = dict(zip(SHAPE_NAMES + EXPRESSION_NAMES, [*model.shape_basis, *model.expression_basis]))
    for name, field in named.items():
        symmetric = np.allclose(field[pairs], field * mirror, atol=1e-4)
        assert symmetric == (name != "jaw_sideways"), name


def _expression(model, name: str, amount: float) -> np.ndarray:
    expr = np.zeros(model.num_expression)
    expr[EXPRESSION_NAMES.index(name)] = amount
    return model.landmarks_68(None, expr)


def test_expressions_do_what_their_names_say(model):
    neutral = model.landmarks_68()
    gap = lambda lm: lm[66, 1] - lm[62, 1]  # noqa: E731  inner lower lip minus inner upper lip (y up)
    opened = _expression(model, "mouth_open", 1.0)
    assert gap(neutral) - gap(opened) > 0.8 and neutral[8, 1] - opened[8, 1] > 0.7  # mouth opens, chin drops
    shut = _expression(model, "eye_close", 2.0)
    for upper, lower in ((37, 41), (38, 40), (43, 47), (44, 46)):
        assert np.linalg.norm(shut[upper] - shut[lower]) < 0.1
    smile = _expression(model, "smile", 1.0)
    assert (smile[[48, 54], 1] > neutral[[48, 54], 1] + 0.2).all()
    assert smile[54, 0] - smile[48, 0] > neutral[54, 0] - neutral[48, 0] + 0.4
    assert (_expression(model, "brow_raise", 1.0)[17:27, 1] - neutral[17:27, 1]).min() > 0.1
    side = _expression(model, "jaw_sideways", 1.0)
    assert side[8, 0] > 0.3 and abs(side[30, 0]) < 1e-3  # chin moves, nose does not
    assert (_expression(model, "pucker", 1.0)[48:60, 2] > neutral[48:60, 2]).all()
