"""Named vertices of the canonical face mesh: the 68-point (iBUG / 300W) scheme, contours, outline.

``MESH_INDEX_68[i]`` is the canonical-mesh vertex that plays the role of iBUG landmark ``i``
(the commonly used MediaPipe-468 -> 68 correspondence). AFLW2000's ``pt3d_68`` uses the same
ordering, which lets PnP relate real landmarks to our head. The lip, eye, brow and nostril
contours are the face-mesh topology's own vertex lists.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from headpose.synth.mesh_asset import ASSET_PATH

# fmt: off
MESH_INDEX_68 = np.array([
    162, 234, 93, 58, 172, 136, 149, 148, 152, 377, 378, 365, 397, 288, 323, 454, 389,  # jaw 0-16
    71, 63, 105, 66, 107,                                                               # brow 17-21
    336, 296, 334, 293, 301,                                                            # brow 22-26
    168, 197, 5, 4,                                                                     # nose bridge 27-30
    75, 97, 2, 326, 305,                                                                # nostrils 31-35
    33, 160, 158, 133, 153, 144,                                                        # eye 36-41
    362, 385, 387, 263, 373, 380,                                                       # eye 42-47
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181,                                # outer lip 48-59
    78, 82, 13, 312, 308, 317, 14, 87,                                                  # inner lip 60-67
])
# fmt: on

# MediaPipe contour vertex lists (the face-mesh topology's own landmarks).
LIP_UPPER_INNER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
LIP_LOWER_INNER = [95, 88, 178, 87, 14, 317, 402, 318, 324]
LIP_UPPER_OUTER = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291]
LIP_LOWER_OUTER = [146, 91, 181, 84, 17, 314, 405, 321, 375]
EYES = (  # (corner, upper lid, other corner, lower lid) for the subject's right then left eye
    (33, [246, 161, 160, 159, 158, 157, 173], 133, [7, 163, 144, 145, 153, 154, 155]),
    (263, [466, 388, 387, 386, 385, 384, 398], 362, [249, 390, 373, 374, 380, 381, 382]),
)
BROWS = ([70, 63, 105, 66, 107, 55, 65, 52, 53, 46], [300, 293, 334, 296, 336, 285, 295, 282, 283, 276])
NOSTRILS = ([79, 75, 97, 1], [309, 305, 326, 1])


@cache
def canonical_mesh() -> dict[str, np.ndarray]:
    """Vertices (468, 3) in cm (x right, y up, z toward the viewer), uvs (468, 2), triangles (898, 3)."""
    with np.load(ASSET_PATH) as archive:
        return {k: archive[k] for k in archive.files}


def template_landmarks_68() -> np.ndarray:
    """(68, 3) 3D landmarks of the mean face, in cm, camera frame at identity pose."""
    return canonical_mesh()["vertices"][MESH_INDEX_68].astype(np.float64)


def face_outline(triangles: np.ndarray) -> list[int]:
    """The face mesh's single boundary loop (36 vertices), in edge order."""
    edges = {(int(a), int(b)) for t in triangles for a, b in ((t[0], t[1]), (t[1], t[2]), (t[2], t[0]))}
    following = {a: b for a, b in edges if (b, a) not in edges}
    loop = [min(following)]
    while following[loop[-1]] != loop[0]:
        loop.append(following[loop[-1]])
    return loop
