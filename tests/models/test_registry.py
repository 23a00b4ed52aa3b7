import copy
import io
import json

import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch import nn

from headpose.angles import NUM_BINS
from headpose.errors import ConfigError
from headpose.models import AnglesOnly, build_from_spec, create_model, list_models
from headpose.models.dense3dmm import POSE_PARAMS
from headpose.rotation_torch import bins_to_degrees, matrix_to_euler

# Outputs beyond ``angles`` (N, 3) that each registered model must return, for a batch of 2.
EXTRA_OUTPUTS = {
    "hopenet": {"logits": (2, 3, NUM_BINS)},
    "fsanet": {},
    "sixd": {"rotation": (2, 3, 3)},
    "dense3dmm": {"params": (2, POSE_PARAMS + 10 + 6), "rotation": (2, 3, 3)},
}
CONFIGS = [
    ("hopenet", {"backbone": "resnet18"}),
    ("hopenet", {"backbone": "mobilenet_v3_small", "width_mult": 0.5}),
    ("fsanet", {}),
    ("fsanet", {"scoring": "variance"}),
    ("fsanet", {"scoring": "uniform"}),
    ("sixd", {}),
    ("sixd", {"backbone": "mobilenet_v3_small"}),
    ("dense3dmm", {}),
    (
        "dense3dmm",
        {"backbone": "mobilenet_v3_small", "width_mult": 1.0, "num_shape": 40, "num_expression": 10},
    ),
]


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.randn(8, 3, 64, 64, generator=torch.Generator().manual_seed(0))


def _seeded(name: str, **kwargs) -> nn.Module:
    torch.manual_seed(0)
    return create_model(name, **kwargs)


def _calibrated(model: nn.Module, images: torch.Tensor) -> nn.Module:
    """The model in eval mode with BatchNorm statistics from ``images``, so that its outputs vary
    from image to image like a trained model's (fresh BN statistics barely let them)."""
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None
    model.train()
    with torch.no_grad():
        model(images)
    return model.eval()


def test_every_registered_model_is_covered_here():
    assert sorted(EXTRA_OUTPUTS) == list_models()


@pytest.mark.parametrize("name", sorted(EXTRA_OUTPUTS))
def test_default_model_returns_angles_and_its_outputs(name, images):
    model = create_model(name).eval()
    with torch.no_grad():
        out = model(images[:2])
    shapes = {k: tuple(v.shape) for k, v in out.items()}
    assert shapes == {"angles": (2, 3), **EXTRA_OUTPUTS[name]}
    assert all(v.dtype == torch.float32 and torch.isfinite(v).all() for v in out.values())


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS)
def test_spec_round_trip_rebuilds_an_identical_model(name, kwargs, images):
    model = _calibrated(_seeded(name, **kwargs), images)
    spec = json.loads(json.dumps(model.spec))  # must survive a plain-data store
    assert spec["name"] == name and all(spec[k] == v for k, v in kwargs.items())
    rebuilt = build_from_spec(spec, model.state_dict()).eval()
    with torch.no_grad():
        expected, actual = model(images[:2]), rebuilt(images[:2])
    assert expected.keys() == actual.keys()
    for key in expected:
        torch.testing.assert_close(actual[key], expected[key], rtol=0, atol=0)


def test_hopenet_angles_are_the_expectation_of_its_logits(images):
    with torch.no_grad():
        out = _calibrated(_seeded("hopenet", backbone="resnet18"), images)(images)
    torch.testing.assert_close(out["angles"], bins_to_degrees(out["logits"]))


def test_hopenet_flip_average_is_the_mean_of_the_crop_and_its_mirror_at_inference_only(images):
    torch.manual_seed(0)
    plain = create_model("hopenet", backbone="mobilenet_v3_small").eval()
    flip = build_from_spec({**plain.spec, "flip_average": True}, plain.state_dict()).eval()
    assert plain.spec["flip_average"] is False and flip.spec["flip_average"] is True
    with torch.no_grad():
        expected = (
            plain(images)["angles"] + plain(images.flip(-1))["angles"] * torch.tensor([-1.0, 1.0, -1.0])
        ) / 2
        out = flip(images)
        torch.testing.assert_close(out["angles"], expected, atol=1e-4, rtol=0)
        torch.testing.assert_close(out["logits"], plain(images)["logits"])  # the crop's own bins
        # a mirrored crop gets exactly the mirrored angles
        torch.testing.assert_close(
            flip(images.flip(-1))["angles"],
            out["angles"] * torch.tensor([-1.0, 1.0, -1.0]),
            atol=1e-4,
            rtol=0,
        )
    flip.train(), plain.train()
    torch.manual_seed(1)
    a = flip(images)["angles"]
    torch.manual_seed(1)
    torch.testing.assert_close(a, plain(images)["angles"])  # training sees one view


@pytest.mark.parametrize("name", ["sixd", "dense3dmm"])
def test_rotation_models_output_proper_rotations_and_their_angles(name, images):
    with torch.no_grad():
        out = _calibrated(_seeded(name), images)(images)
    r = out["rotation"]
    torch.testing.assert_close(r.transpose(-1, -2) @ r, torch.eye(3).expand_as(r), atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.linalg.det(r), torch.ones(len(r)), atol=1e-5, rtol=0)
    torch.testing.assert_close(out["angles"], matrix_to_euler(r))


def test_dense3dmm_regularization_weights_follow_the_param_layout():
    model = create_model("dense3dmm", num_shape=3, num_expression=2)
    assert model.regularization_weights(0.5, 0.25).tolist() == [0.0] * POSE_PARAMS + [0.5] * 3 + [0.25] * 2


def test_pretrained_path_is_not_part_of_the_spec(tmp_path):
    backbone = create_model("sixd", backbone="mobilenet_v3_small").backbone
    path = tmp_path / "backbone.pt"
    torch.save(backbone.state_dict(), path)
    model = create_model("sixd", backbone="mobilenet_v3_small", pretrained_path=str(path))
    assert "pretrained_path" not in model.spec
    torch.testing.assert_close(model.backbone.state_dict(), backbone.state_dict())


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(ConfigError, match="unknown model 'hopnet'.*dense3dmm, fsanet, hopenet, sixd"):
        create_model("hopnet")


def test_unknown_argument_is_a_config_error():
    with pytest.raises(ConfigError, match="hopenet.*accepted arguments: backbone"):
        create_model("hopenet", backbone="resnet18", bins=66)
    with pytest.raises(ConfigError, match="scoring"):
        create_model("fsanet", scoring="capsule")
    with pytest.raises(ConfigError, match="stage_bins"):
        create_model("fsanet", stage_bins=(3, 3))


def test_fsanet_takes_larger_inputs():
    with torch.no_grad():
        assert create_model("fsanet").eval()(torch.randn(2, 3, 128, 128))["angles"].shape == (2, 3)


def _perturbed(model: nn.Module) -> nn.Module:
    """FSA-Net's fresh outputs hardly depend on the image (selection and aggregation average many
    small features); larger random weights make them vary, so parity is checked on varied outputs."""
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.5)
    return model


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("hopenet", {"backbone": "resnet18"}),
        ("fsanet", {}),
        ("sixd", {"backbone": "resnet18"}),
        ("dense3dmm", {"backbone": "mobilenet_relu"}),
    ],
)
def test_angles_only_exports_to_onnx_with_dynamic_batch_and_matches_torch(name, kwargs, images):
    model = _seeded(name, **kwargs)
    model = _calibrated(_perturbed(model) if name == "fsanet" else model, images)
    wrapped = AnglesOnly(model).eval()
    with torch.no_grad():
        expected = wrapped(images).numpy()
        reference = copy.deepcopy(wrapped).double()(images.double()).numpy()
    # A meaningful comparison: outputs vary across images, away from gimbal lock (|yaw| -> 90)
    # where Euler angles amplify float32 rounding.
    assert expected.std(0).min() > 0.5 and np.abs(expected[:, 0]).max() < 80
    # ONNX Runtime rounds differently from PyTorch, by about as much as PyTorch's float32 result
    # differs from float64 (up to ~1e-3 degrees for the deep MobileNet of dense3dmm).
    rounding = np.abs(expected - reference).max()
    buffer = io.BytesIO()
    torch.onnx.export(
        wrapped,
        (images[:2],),
        buffer,
        input_names=["images"],
        output_names=["angles"],
        dynamo=True,
        dynamic_shapes=({0: torch.export.Dim("batch")},),
    )
    session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    (actual,) = session.run(None, {"images": images.numpy()})  # batch 8, exported with 2
    assert actual.shape == (8, 3)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-3 + 2 * rounding)
