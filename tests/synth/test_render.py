import numpy as np
import pytest

from headpose.synth.render import Hair, Light, render, vertex_normals

SIZE, FOCAL = 32, 32.0
CENTRE = (SIZE - 1) / 2
BALD = Hair((0.0, 0.0, 0.0))
# A triangle at depth 10, counter-clockwise seen from the camera (x right, y up, z toward it).
FRONT = [[-3.0, -3.0, -10.0], [3.0, -3.0, -10.0], [0.0, 3.0, -10.0]]
SOFT_LIGHT = Light((0, 0, 1), intensity=0.5, ambient=0.3)


def _render(
    vertices,
    triangles=((0, 1, 2),),
    albedo=0.8,
    light=SOFT_LIGHT,
    background=None,
    hair_score=None,
    hair=BALD,
    textured=False,
    texture=None,
    palette=((0, 0, 0),),
):
    v = np.asarray(vertices, np.float32)
    t = np.asarray(triangles, np.int32)
    albedo = np.broadcast_to(np.asarray(albedo, np.float32), (len(v), 3))
    background = np.zeros((SIZE, SIZE, 3), np.uint8) if background is None else background
    hair_score = np.zeros(len(v)) if hair_score is None else hair_score
    uvs = np.full((len(v), 2), 0.5, np.float32)
    texture = np.zeros((4, 4, 1), np.float32) if texture is None else texture
    return render(
        background,
        v,
        t,
        albedo,
        hair_score,
        hair,
        uvs,
        np.full(len(t), textured),
        texture,
        np.asarray(palette, np.float32),
        (FOCAL, CENTRE, CENTRE),
        light,
    )


def _byte(value: float) -> int:
    return int(value * 255 + 0.5)


def test_front_facing_triangle_gets_ambient_plus_lambert_shade():
    image, depth = _render(FRONT)
    centre = image[int(CENTRE), int(CENTRE)]
    assert (centre == _byte(0.8 * (0.3 + 0.5))).all()
    assert depth[int(CENTRE), int(CENTRE)] == pytest.approx(1 / 10)


def test_back_facing_triangle_is_culled():
    image, depth = _render(FRONT[::-1])
    assert not image.any() and not depth.any()


def test_lambert_shade_follows_the_cosine_of_the_light_angle():
    at_60_deg = Light((np.sin(np.pi / 3), 0, 0.5), intensity=0.5, ambient=0.3)
    grazing = Light((1, 0, 0), intensity=0.5, ambient=0.3)
    assert _render(FRONT, light=at_60_deg)[0][16, 16, 0] == _byte(0.8 * (0.3 + 0.5 * 0.5))
    assert _render(FRONT, light=grazing)[0][16, 16, 0] == _byte(0.8 * 0.3)


def test_projection_puts_x_right_y_up_with_opencv_pixel_centres():
    # A small triangle up and to the right of the axis lands at u = cx + f x / d, v = cy - f y / d.
    tri = np.array(FRONT) * [0.3, 0.3, 1] + [2.0, 1.5, 0.0]
    _, depth = _render(tri)
    rows, cols = np.nonzero(depth)
    projected = np.array([[CENTRE + FOCAL * x / -z, CENTRE - FOCAL * y / -z] for x, y, z in tri])
    assert cols.mean() == pytest.approx(projected[:, 0].mean(), abs=0.5)
    assert rows.mean() == pytest.approx(projected[:, 1].mean(), abs=0.5)
    assert cols.mean() > CENTRE and rows.mean() < CENTRE


@pytest.mark.parametrize("near_first", [True, False])
def test_the_nearer_triangle_wins_whatever_the_drawing_order(near_first):
    near = np.array(FRONT)
    far = near * [2, 2, 1.5]  # same screen footprint scaled, further away
    vertices = np.concatenate([near, far] if near_first else [far, near])
    albedo = np.array([[1, 0, 0]] * 3 + [[0, 1, 0]] * 3, np.float32)
    if not near_first:
        albedo = albedo[::-1].copy()
    image, _ = _render(vertices, triangles=((0, 1, 2), (3, 4, 5)), albedo=albedo)
    assert image[16, 16, 0] > 0 and image[16, 16, 1] == 0


def test_background_is_kept_where_nothing_is_drawn():
    background = np.random.default_rng(0).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    image, depth = _render(FRONT, background=background)
    empty = depth == 0
    assert 0 < empty.sum() < SIZE * SIZE
    assert np.array_equal(image[empty], background[empty])


def test_texture_masks_are_painted_in_palette_colours_and_lit():
    everywhere = np.ones((4, 4, 1), np.float32)
    image, _ = _render(FRONT, textured=True, texture=everywhere, palette=((1.0, 0.0, 0.0),))
    assert tuple(image[16, 16]) == (_byte(0.3 + 0.5), 0, 0)


def test_hair_replaces_skin_where_the_hair_score_passes_the_hairline():
    hair = Hair((0.0, 0.0, 1.0), hairline=0.0, softness=0.05)
    haired, _ = _render(FRONT, hair_score=np.ones(3), hair=hair)
    skin, _ = _render(FRONT, hair_score=-np.ones(3), hair=hair)
    assert tuple(haired[16, 16]) == (0, 0, _byte(0.8))
    assert tuple(skin[16, 16]) == (_byte(0.8 * 0.8),) * 3


def test_vertex_normals_of_a_counter_clockwise_triangle_face_the_viewer():
    normals = vertex_normals(np.array(FRONT, np.float32), np.array([[0, 1, 2]], np.int32))
    np.testing.assert_allclose(normals, [[0, 0, 1]] * 3, atol=1e-6)
