from headpose.synth.landmarks import MESH_INDEX_68, canonical_mesh, face_outline


def test_face_outline_is_the_mesh_boundary_in_edge_order():
    triangles = canonical_mesh()["triangles"]
    loop = face_outline(triangles)
    assert len(loop) == len(set(loop)) == 36
    edges = {(int(a), int(b)) for t in triangles for a, b in ((t[0], t[1]), (t[1], t[2]), (t[2], t[0]))}
    for a, b in zip(loop, loop[1:] + loop[:1]):
        assert (a, b) in edges and (b, a) not in edges  # consecutive points share a boundary edge
    assert {int(i) for i in MESH_INDEX_68[[0, 8, 16]]} <= set(loop)  # the jaw line's ends and chin lie on it
