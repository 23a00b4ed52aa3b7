"""The 68-point (iBUG / 300W) landmark scheme on the canonical face mesh.

``MESH_INDEX_68[i]`` is the canonical-mesh vertex that plays the role of iBUG landmark ``i``
(the commonly used MediaPipe-468 -> 68 correspondence). AFLW2000's ``pt3d_68`` uses the same
ordering, which lets PnP relate real landmarks to our head.
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


@cache
def canonical_mesh() -> dict[str, np.ndarray]:
    """Vertices (468, 3) in cm (x right, y up, z toward the viewer), uvs (468, 2), triangles (898, 3)."""
    with np.load(ASSET_PATH) as archive:
        return {k: archive[k] for k in archive.files}


def template_landmarks_68() -> np.ndarray:
    """(68, 3) 3D landmarks of the mean face, in cm, camera frame at identity pose."""
    return canonical_mesh()["vertices"][MESH_INDEX_68].astype(np.float64)
