"""A synthetic "photo" to profile: our mean head rendered on blue, with its exact teacher landmarks."""

import numpy as np

from headpose.angles import euler_to_matrix
from headpose.synth.head_model import head_model
from headpose.synth.render import Hair, Light, render

SIZE, SCALE, DISTANCE = 128, 4.0, 1e4  # px, px per cm, cm (far: the render is weak-perspective)
CENTRE = (SIZE - 1) / 2
SKIN = np.array([0.8, 0.6, 0.47])
BLUE = np.array([0, 0, 255])


def synthetic_photo(angles) -> tuple[np.ndarray, np.ndarray]:
    """A uniformly skin-coloured mean head at ``angles`` on blue, and its exact 478 landmarks."""
    model = head_model()
    rotated = model.mean.astype(np.float64) @ euler_to_matrix(*angles).T
    vertices = rotated + [0.0, 0.0, -DISTANCE]
    background = np.broadcast_to(BLUE.astype(np.uint8), (SIZE, SIZE, 3))
    n = len(vertices)
    image, _ = render(
        background,
        vertices,
        model.triangles,
        np.tile(SKIN, (n, 1)),
        np.zeros(n),
        Hair((0, 0, 0)),
        model.uvs,
        np.zeros(len(model.triangles), bool),
        np.zeros((4, 4, 1), np.float32),
        np.zeros((1, 3), np.float32),
        (SCALE * DISTANCE, CENTRE, CENTRE),
        Light((0, 0, 1), intensity=0.0, ambient=1.0),
    )
    face = rotated[:468]
    landmarks = np.column_stack(
        [CENTRE + SCALE * face[:, 0], CENTRE - SCALE * face[:, 1], -SCALE * face[:, 2]]
    )
    iris = np.repeat(landmarks[[468 - 1]], 10, 0)  # iris points: unused by profiling
    return image, np.concatenate([landmarks, iris])
