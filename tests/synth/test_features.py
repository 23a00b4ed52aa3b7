from headpose.synth.features import FEATURES, feature_texture, feature_triangles
from headpose.synth.head_model import head_model
from headpose.synth.landmarks import canonical_mesh


def test_feature_texture_marks_eyes_and_lips_and_leaves_skin_blank():
    texture = feature_texture(256)
    assert texture.shape == (256, 256, len(FEATURES))
    assert texture.min() >= 0 and texture.sum(-1).max() <= 1 + 1e-6
    uv = canonical_mesh()["uvs"]
    at = lambda idx: texture[int(uv[idx, 1] * 256), int(uv[idx, 0] * 256)]  # noqa: E731
    eye_centre = uv[[159, 145]].mean(0)
    iris = texture[int(eye_centre[1] * 256), int(eye_centre[0] * 256)]
    assert iris[FEATURES.index("iris")] + iris[FEATURES.index("dark")] > 0.9
    assert at(17)[FEATURES.index("lips")] > 0.5  # lower lip centre
    assert at(4).sum() == 0 and texture[0, 0].sum() == 0  # nose tip, and the texel non-face vertices use
    model = head_model()
    textured = feature_triangles(256)
    assert textured.shape == (len(model.triangles),) and 0 < textured.sum() < 898
    assert not textured[898:].any()
