import numpy as np
import pytest

from headpose.angles import euler_to_matrix
from headpose.synth import head_model as hm
from headpose.synth.landmarks import MESH_INDEX_68, canonical_mesh, template_landmarks_68


@pytest.fixture(scope="module")
def model() -> hm.HeadModel:
    return hm.head_model()


def _edges(triangles: np.ndarray) -> np.ndarray:
    return np.unique(np.sort(triangles[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), 1), axis=0)


def test_face_is_the_canonical_mesh_and_landmarks_are_the_template(model):
    mesh = canonical_mesh()
    assert np.array_equal(model.mean[:468], mesh["vertices"])
    assert np.array_equal(model.triangles[:898], mesh["triangles"])
    assert (model.part[:468] == hm.FACE).all()
    np.testing.assert_allclose(model.landmarks_68(), template_landmarks_68(), atol=1e-6)


def test_face_and_skull_form_a_closed_outward_surface_of_head_size(model):
    tris = model.triangles[(np.isin(model.part[model.triangles], [hm.FACE, hm.SKULL])).all(1)]
    directed = tris[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)
    forward = {tuple(e) for e in directed}
    assert len(forward) == len(directed), "an edge is used twice in the same direction"
    assert all((b, a) in forward for a, b in forward), "the surface has a hole"
    v = model.mean.astype(np.float64)
    volume = np.einsum("ij,ij->i", v[tris[:, 0]], np.cross(v[tris[:, 1]], v[tris[:, 2]])).sum() / 6
    assert 3000 < volume < 5500  # cm^3, positive: normals point outward; adult heads hold ~4 litres
    width, height, depth = np.ptp(v[model.part <= hm.SKULL], axis=0)
    assert 14 < width < 18 and 21 < height < 26 and 18 < depth < 23  # breadth, chin-vertex, nose-occiput


def test_parameter_counts_and_basis_shapes(model):
    assert (model.num_shape, model.num_expression) == (10, 6)
    assert (len(hm.SHAPE_NAMES), len(hm.EXPRESSION_NAMES)) == (10, 6)
    assert model.shape_basis.shape == (10, model.num_vertices, 3)
    assert model.expression_basis.shape == (6, model.num_vertices, 3)


def test_model_is_deterministic(model):
    again = hm.head_model.__wrapped__()
    for name in ("mean", "shape_basis", "expression_basis", "triangles", "hair"):
        assert np.array_equal(getattr(again, name), getattr(model, name)), name


def test_vertices_are_linear_in_the_parameters_and_batch(model):
    rng = np.random.default_rng(0)
    shape, expr = rng.normal(size=(4, 10)), rng.normal(size=(4, 6))
    batch = model.vertices(shape, expr)
    assert batch.shape == (4, model.num_vertices, 3) and batch.dtype == np.float32
    expected = model.mean + np.einsum("s,svc->vc", shape[2], model.shape_basis) + np.einsum(
        "e,evc->vc", expr[2], model.expression_basis)
    np.testing.assert_allclose(batch[2], expected, atol=1e-4)
    np.testing.assert_allclose(model.landmarks_68(shape, expr), batch[:, MESH_INDEX_68], atol=1e-4)


def test_every_component_moves_the_head_smoothly_by_a_plausible_amount(model):
    edges = _edges(model.triangles)
    length = np.linalg.norm(model.mean[edges[:, 0]] - model.mean[edges[:, 1]], axis=1)
    for name, field in zip(hm.SHAPE_NAMES, model.shape_basis):
        assert 0.2 < np.linalg.norm(field, axis=1).max() < 1.0, name  # cm per standard deviation
        strain = np.linalg.norm(field[edges[:, 0]] - field[edges[:, 1]], axis=1) / length
        assert strain.max() < 0.2, name  # one unit stretches no edge by more than 20%


def test_shape_and_expressions_are_mirror_symmetric_except_jaw_sideways(model):
    mirror = np.array([-1.0, 1.0, 1.0])
    v = model.mean.astype(np.float64)
    # The canonical mesh and everything built on it is symmetric: pair each vertex with its mirror.
    pairs = np.array([np.argmin(np.linalg.norm(v - p * mirror, axis=1)) for p in v])
    assert np.allclose(v[pairs], v * mirror, atol=1e-4)
    named = dict(zip(hm.SHAPE_NAMES + hm.EXPRESSION_NAMES, [*model.shape_basis, *model.expression_basis]))
    for name, field in named.items():
        symmetric = np.allclose(field[pairs], field * mirror, atol=1e-4)
        assert symmetric == (name != "jaw_sideways"), name


def _expression(model, name: str, amount: float) -> np.ndarray:
    expr = np.zeros(model.num_expression)
    expr[hm.EXPRESSION_NAMES.index(name)] = amount
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


def test_articulate_turns_the_head_about_the_neck_pivot_and_keeps_the_neck_upright(model):
    rotation = euler_to_matrix(40, -20, 10)
    v = model.vertices()
    posed = model.articulate(v, rotation)
    head, neck = model.part != hm.NECK, model.part == hm.NECK
    np.testing.assert_allclose(posed[neck], v[neck] - hm.NECK_PIVOT, atol=1e-5)
    np.testing.assert_allclose(posed[head], (v[head] - hm.NECK_PIVOT) @ rotation.T, atol=1e-4)


def test_hair_grows_on_the_crown_and_never_over_eyes_nose_or_mouth(model):
    crown = np.argmax(model.mean[:, 1])
    assert model.hair[crown] > 0.5
    lm = model.landmarks_68()
    # Below the brows and between the eyes' outer corners.
    inner_face = ((model.part == hm.FACE) & (model.mean[:, 1] < lm[17:27, 1].min())
                  & (np.abs(model.mean[:, 0]) < lm[45, 0]))
    assert model.hair[inner_face].max() < -0.1  # the lowest sampled hairline is -0.1
    assert (model.hair[(model.part == hm.EAR) | (model.part == hm.NECK)] < -1).all()


def test_feature_texture_marks_eyes_and_lips_and_leaves_skin_blank(model):
    texture = hm.feature_texture(256)
    assert texture.shape == (256, 256, len(hm.FEATURES))
    assert texture.min() >= 0 and texture.sum(-1).max() <= 1 + 1e-6
    uv = canonical_mesh()["uvs"]
    at = lambda idx: texture[int(uv[idx, 1] * 256), int(uv[idx, 0] * 256)]  # noqa: E731
    eye_centre = uv[[159, 145]].mean(0)
    iris = texture[int(eye_centre[1] * 256), int(eye_centre[0] * 256)]
    assert iris[hm.FEATURES.index("iris")] + iris[hm.FEATURES.index("dark")] > 0.9
    assert at(17)[hm.FEATURES.index("lips")] > 0.5      # lower lip centre
    assert at(4).sum() == 0 and texture[0, 0].sum() == 0  # nose tip, and the texel non-face vertices use
    textured = hm.feature_triangles(256)
    assert textured.shape == (len(model.triangles),) and 0 < textured.sum() < 898
    assert not textured[898:].any()
