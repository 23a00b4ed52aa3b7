import numpy as np

from headpose.angles import euler_to_matrix, flip_horizontal, geodesic_deg
from headpose.synth.profiling.fit import delta_rotation, fit_head, mirror_landmarks, turn_head
from headpose.teacher.pose import camera_points, fit_pose
from tests.synth.profiling.photos import SIZE, synthetic_photo


def test_delta_rotation_composes_to_the_target():
    rng = np.random.default_rng(0)
    for _ in range(20):
        teacher = rng.uniform([-99, -60, -60], [99, 60, 60])
        target = rng.uniform([-99, -60, -60], [99, 60, 60])
        composed = delta_rotation(teacher, target) @ euler_to_matrix(*teacher)
        assert np.allclose(composed, euler_to_matrix(*target))


def test_fitted_head_keeps_the_photo_face_and_turns_to_the_target():
    angles, target = np.array([25.0, -10.0, 10.0]), np.array([-60.0, 5.0, 0.0])
    _, landmarks = synthetic_photo(angles)
    head = fit_head(landmarks)
    np.testing.assert_allclose(head.vertices[:468], camera_points(landmarks))
    turned = turn_head(head, angles, target)
    seen = np.column_stack([turned[:468, 0], -turned[:468, 1], -turned[:468, 2]])  # back to image pixels
    assert geodesic_deg(fit_pose(seen).rotation, euler_to_matrix(*target)) < 0.1


def test_mirrored_landmarks_are_the_mirrored_face():
    angles = np.array([30.0, 5.0, -8.0])
    _, landmarks = synthetic_photo(angles)
    mirrored = mirror_landmarks(landmarks, SIZE)
    np.testing.assert_allclose(mirror_landmarks(mirrored, SIZE), landmarks, atol=1e-9)
    expected = flip_horizontal(fit_pose(landmarks).angles)
    np.testing.assert_allclose(fit_pose(mirrored).angles, expected, atol=0.5)
