"""Tiny real models shared by the compression tests (exported once per session: the export takes ~10 s)."""

from dataclasses import dataclass

import onnx
import pytest
import torch

from headpose.deploy.onnx_export import to_onnx_proto
from headpose.models import create_model

INPUT_SIZE = 32
HEAD_STD = 0.05


@dataclass
class TinyOnnx:
    model: torch.nn.Module
    proto: onnx.ModelProto


def responsive_model(backbone: str = "mobilenet_relu", width_mult: float = 0.25) -> torch.nn.Module:
    """An untrained Hopenet whose answer depends on its input, so quantisation error shows in the MAE.

    Fresh initialisation answers (almost) the same for every image; BatchNorm statistics of random
    images and a wider head fix that.
    """
    torch.manual_seed(0)
    model = create_model("hopenet", backbone=backbone, width_mult=width_mult)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None
    torch.nn.init.normal_(model.head.weight, std=HEAD_STD)
    with torch.no_grad():
        model.train()(torch.randn(32, 3, INPUT_SIZE, INPUT_SIZE))
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = 0.1
    return model.eval()


@pytest.fixture(scope="session")
def tiny_onnx() -> TinyOnnx:
    model = responsive_model()
    return TinyOnnx(model, to_onnx_proto(model, INPUT_SIZE))
