import pytest
import torch
import torchvision
from torch import nn

from headpose.errors import ConfigError
from headpose.models.backbones import create_backbone, list_backbones

EXPECTED_CHANNELS = {
    "resnet18": 512,
    "resnet34": 512,
    "resnet50": 2048,
    "mobilenet_v3_small": 576,
    "mobilenet_v3_large": 960,
    "mobilenet_relu": 1024,
}


def test_every_backbone_is_covered_here():
    assert sorted(EXPECTED_CHANNELS) == list_backbones()


@pytest.mark.parametrize("name", sorted(EXPECTED_CHANNELS))
def test_backbone_maps_images_to_pooled_features(name):
    features, channels = create_backbone(name)
    assert channels == EXPECTED_CHANNELS[name]
    with torch.no_grad():
        assert features.eval()(torch.randn(2, 3, 64, 64)).shape == (2, channels)


def test_mobilenet_relu_is_int8_friendly_and_scales_with_width():
    features, channels = create_backbone("mobilenet_relu", width_mult=0.5)
    assert channels == 512
    activations = {
        type(m)
        for m in features.modules()
        if not isinstance(m, (nn.Conv2d, nn.BatchNorm2d)) and not list(m.children())
    }
    assert activations <= {nn.ReLU6, nn.AdaptiveAvgPool2d, nn.Flatten}


def test_torchvision_checkpoint_loads_without_its_classifier(tmp_path):
    reference = torchvision.models.resnet18(weights=None, num_classes=7).eval()
    path = tmp_path / "resnet18.pth"
    torch.save(reference.state_dict(), path)
    features, _ = create_backbone("resnet18", pretrained_path=path)
    reference.fc = nn.Identity()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(features.eval()(x), reference(x))


def test_checkpoint_of_another_architecture_is_refused(tmp_path):
    path = tmp_path / "resnet34.pth"
    torch.save(torchvision.models.resnet34(weights=None).state_dict(), path)
    with pytest.raises(ConfigError, match="resnet34.pth: checkpoint does not match"):
        create_backbone("resnet18", pretrained_path=path)
    with pytest.raises(ConfigError, match="not found"):
        create_backbone("resnet18", pretrained_path=tmp_path / "missing.pth")


def test_bad_names_and_widths_are_config_errors():
    with pytest.raises(ConfigError, match="unknown backbone 'resnet19'.*mobilenet_relu"):
        create_backbone("resnet19")
    with pytest.raises(ConfigError, match="resnet18.*no width multiplier"):
        create_backbone("resnet18", width_mult=0.5)
