import math

import pytest
import torch

from headpose.angles import NUM_BINS, angle_to_bin
from headpose.losses import (
    binned_loss,
    distillation_kl,
    geodesic_loss,
    large_angle_weights,
    param_regularization,
    wing_loss,
)
from headpose.rotation_torch import euler_to_matrix


def test_wing_loss_is_logarithmic_below_w_and_linear_above():
    pred = torch.tensor([[1.0, 12.0, 0.0]])
    # |x| = 1 < w: 10 ln(1 + 1/2); |x| = 12 >= w: 12 - C with C = 10 - 10 ln(1 + 10/2).
    expected = 10 * math.log(1.5) + (12 - (10 - 10 * math.log(6)))
    assert wing_loss(pred, torch.zeros(1, 3), w=10, epsilon=2).item() == pytest.approx(expected, rel=1e-6)


def test_wing_loss_is_continuous_at_w():
    below = wing_loss(torch.tensor([[10 - 1e-4]]), torch.zeros(1, 1))
    above = wing_loss(torch.tensor([[10 + 1e-4]]), torch.zeros(1, 1))
    assert below.item() == pytest.approx(above.item(), abs=1e-3)


def _two_sample_toy() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sample 0: half the mass on bins 33 and 34 (centres 1.5, 4.5), label 4 (bin 34).
    Sample 1: uniform logits (expectation 0), label 0 (bin 33)."""
    logits = torch.zeros(2, 3, NUM_BINS, dtype=torch.float64)
    logits[0, :, [33, 34]] = 100.0
    angles = torch.tensor([[4.0, 4.0, 4.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    bins = torch.from_numpy(angle_to_bin(angles.numpy()))
    assert bins.tolist() == [[34] * 3, [33] * 3]
    return logits, bins, angles


def test_binned_loss_by_hand():
    logits, bins, angles = _two_sample_toy()
    # Sample 0, per angle: CE = ln 2, expectation 3 vs label 4 -> squared error 1.
    # Sample 1, per angle: CE = ln 66, expectation 0 vs label 0 -> 0. Sum over angles, mean over samples.
    alpha = 0.5
    expected = (3 * (math.log(2) + alpha * 1.0) + 3 * math.log(66)) / 2
    assert binned_loss(logits, bins, angles, alpha).item() == pytest.approx(expected, rel=1e-9)


def test_binned_loss_sample_weights_scale_each_sample():
    logits, bins, angles = _two_sample_toy()
    weighted = binned_loss(logits, bins, angles, 0.5, sample_weights=torch.tensor([2.0, 0.0]))
    assert weighted.item() == pytest.approx(3 * (math.log(2) + 0.5), rel=1e-9)


def test_binned_loss_regression_term_reaches_the_logits():
    logits, bins, angles = _two_sample_toy()
    logits.requires_grad_(True)
    binned_loss(logits, bins, angles, alpha=1.0).backward()
    # Moving mass from bin 33 to bin 34 lowers both CE and the squared error of sample 0.
    assert (logits.grad[0, :, 34] < 0).all() and (logits.grad[0, :, 33] > 0).all()


def test_large_angle_weights_up_weight_samples_past_the_threshold():
    angles = torch.tensor([[10.0, -20.0, 5.0], [-50.0, 0.0, 0.0], [0.0, 0.0, 45.0], [30.0, 46.0, -60.0]])
    assert large_angle_weights(angles, threshold_deg=45, weight=3.0).tolist() == [1.0, 3.0, 1.0, 3.0]


def test_geodesic_loss_of_a_90_degree_rotation_is_half_pi():
    identity = torch.eye(3).expand(2, 3, 3)
    quarter_turn = euler_to_matrix(torch.tensor([[90.0, 0.0, 0.0], [0.0, 0.0, -90.0]]))
    assert geodesic_loss(quarter_turn, identity).item() == pytest.approx(math.pi / 2, abs=1e-6)
    assert geodesic_loss(identity, identity).item() == pytest.approx(0.0, abs=1e-3)


def test_geodesic_loss_gradient_is_finite_for_identical_rotations():
    rotation = euler_to_matrix(torch.tensor([[10.0, 20.0, 30.0]])).requires_grad_(True)
    geodesic_loss(rotation, rotation.detach()).backward()
    assert torch.isfinite(rotation.grad).all()


def test_geodesic_loss_sample_weights():
    identity = torch.eye(3).expand(2, 3, 3)
    turns = euler_to_matrix(torch.tensor([[0.0, 90.0, 0.0], [0.0, 180.0, 0.0]]))
    assert geodesic_loss(turns, identity, sample_weights=torch.tensor([1.0, 0.0])).item() == pytest.approx(
        math.pi / 4, abs=1e-6
    )


def test_param_regularization_by_hand():
    params = torch.tensor([[5.0, 1.0, 2.0], [7.0, -3.0, 0.5]])
    weights = [0.0, 0.1, 0.01]  # first parameter (pose) unpenalised
    expected = ((0.1 * 1 + 0.01 * 4) + (0.1 * 9 + 0.01 * 0.25)) / 2
    assert param_regularization(params, weights).item() == pytest.approx(expected, rel=1e-6)


def test_distillation_kl_is_zero_for_identical_logits_and_positive_otherwise():
    teacher = torch.randn(4, 3, NUM_BINS, generator=torch.Generator().manual_seed(0))
    assert distillation_kl(teacher.clone(), teacher, temperature=2.0).item() == pytest.approx(0.0, abs=1e-6)
    assert distillation_kl(teacher.flip(-1), teacher, temperature=2.0).item() > 0.1


def test_distillation_kl_is_softened_kl_times_t_squared():
    gen = torch.Generator().manual_seed(1)
    student = torch.randn(2, 3, NUM_BINS, generator=gen, dtype=torch.float64)
    teacher = torch.randn(2, 3, NUM_BINS, generator=gen, dtype=torch.float64)
    t = 4.0
    p_t, p_s = torch.softmax(teacher / t, -1), torch.softmax(student / t, -1)
    kl_per_sample = (p_t * (p_t.log() - p_s.log())).sum((1, 2))
    expected = t**2 * kl_per_sample.mean().item()
    assert distillation_kl(student, teacher, t).item() == pytest.approx(expected, rel=1e-9)
