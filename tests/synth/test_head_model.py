import numpy as np
import pytest

from headpose.angles import euler_to_matrix
from headpose.synth import head_model as hm
from headpose.synth.landmarks import MESH_INDEX_68, canonical_mesh, template_landmarks_68


@pytest.fixture(scope="module")
def model() -> hm.HeadModel:
    return hm.head_model()


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


def test_model_is_deterministic(model):
    again = hm.head_model.__wrapped__()
    for name in ("mean", "shape_basis", "expression_basis", "triangles", "hair"):
        assert np.array_equal(getattr(again, name), getattr(model, name)), name


def test_vertices_are_linear_in_the_parameters_and_batch(model):
    rng = np.random.default_rng(0)
    shape, expr = rng.normal(size=(4, 10)), rng.normal(size=(4, 6))
    batch = model.vertices(shape, expr)
    assert batch.shape == (4, model.num_vertices, 3) and batch.dtype == np.float32
    expected = (
        model.mean
        + np.einsum("s,svc->vc", shape[2], model.shape_basis)
        + np.einsum("e,evc->vc", expr[2], model.expression_basis)
    )
    np.testing.assert_allclose(batch[2], expected, atol=1e-4)
    np.testing.assert_allclose(model.landmarks_68(shape, expr), batch[:, MESH_INDEX_68], atol=1e-4)


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
    inner_face = (
        (model.part == hm.FACE)
        & (model.mean[:, 1] < lm[17:27, 1].min())
        & (np.abs(model.mean[:, 0]) < lm[45, 0])
    )
    assert model.hair[inner_face].max() < -0.1  # the lowest sampled hairline is -0.1
    assert (model.hair[(model.part == hm.EAR) | (model.part == hm.NECK)] < -1).all()
