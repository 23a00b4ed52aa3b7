from torch import nn

from headpose.flops import count_macs, count_params


def _tiny() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10)
    )


def test_count_params():
    assert count_params(_tiny()) == 8 * 3 * 9 + 8 * 10 + 10


def test_count_macs_by_hand():
    # conv: out channels * in channels * 3*3 per output pixel; linear: 8 * 10.
    assert count_macs(_tiny(), 16) == 8 * 3 * 9 * 16 * 16 + 80
    assert count_macs(_tiny(), (16, 32)) == 8 * 3 * 9 * 16 * 32 + 80


def test_count_macs_keeps_the_training_mode():
    model = _tiny().train()
    count_macs(model, 8)
    assert model.training
