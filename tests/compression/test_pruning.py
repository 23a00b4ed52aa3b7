import copy

import pytest
import torch

from headpose.angles import NUM_BINS
from headpose.compression.pruning import (
    PruneConfig,
    head_modules,
    prune_and_finetune,
    prune_checkpoint,
    prune_once,
)
from headpose.errors import ConfigError
from headpose.flops import count_macs, count_params
from headpose.models import create_model
from headpose.training.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from headpose.training.config import TrainConfig
from tests.conftest import make_faceset

SIZE = 32
# Residual blocks (resnet18), depthwise + squeeze-excite (MobileNetV3), depthwise + ReLU6 (mobilenet_relu).
BACKBONES = [("resnet18", 1.0), ("mobilenet_v3_small", 0.5), ("mobilenet_relu", 0.5)]


def _model(backbone: str, width: float) -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("hopenet", backbone=backbone, width_mult=width).eval()


@pytest.mark.parametrize(("backbone", "width"), BACKBONES)
def test_pruning_meets_the_macs_target_keeps_the_head_and_round_trips_through_a_checkpoint(
    backbone, width, tmp_path
):
    model = _model(backbone, width)
    base_macs, base_params = count_macs(model, SIZE), count_params(model)
    head_before = copy.deepcopy(model.head)
    prune_once(model, SIZE, int(0.5 * base_macs), None, PruneConfig(importance="magnitude"))

    assert count_macs(model, SIZE) <= 0.5 * base_macs
    assert count_params(model) < base_params
    x = torch.randn(3, 3, SIZE, SIZE)
    model.eval()
    out = model(x)
    assert out["logits"].shape == (3, 3, NUM_BINS) and out["angles"].shape == (3, 3)
    # The head keeps its outputs; only its input width follows the pruned backbone.
    assert model.head.out_features == head_before.out_features == 3 * NUM_BINS
    assert head_modules(model) == [model.head]

    save_checkpoint(Checkpoint(model, {"input_size": SIZE}), tmp_path / "pruned.pt")
    reloaded = load_checkpoint(tmp_path / "pruned.pt").model
    assert [p.shape for p in reloaded.parameters()] == [p.shape for p in model.parameters()]
    torch.testing.assert_close(reloaded(x)["angles"], out["angles"], rtol=0, atol=0)


def test_depthwise_convs_stay_depthwise_after_pruning():
    model = _model("mobilenet_relu", 0.5)
    prune_once(model, SIZE, int(0.4 * count_macs(model, SIZE)), None, PruneConfig(importance="magnitude"))
    depthwise = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.groups > 1]
    assert depthwise and all(m.groups == m.in_channels == m.out_channels for m in depthwise)
    assert all(
        m.out_channels % 8 == 0
        for m in model.modules()
        if isinstance(m, torch.nn.Conv2d) and m.out_channels > 3
    )


def test_iterative_taylor_pruning_with_fine_tuning_on_tiny_data():
    model = _model("mobilenet_v3_small", 0.5)
    base = count_macs(model, SIZE)
    faces = make_faceset(n=32, size=SIZE)
    config = PruneConfig(
        importance="taylor", taylor_batches=1, target_macs_ratio=0.6, iterative_steps=2, finetune_images=16
    )
    finetune = TrainConfig(input_size=SIZE, epochs=1, batch_size=8, threads=1)
    result = prune_and_finetune(model, faces, faces, SIZE, config, finetune)
    assert [s["step"] for s in result.steps] == [1.0, 2.0]
    assert result.steps[0]["macs"] > result.steps[1]["macs"]
    assert result.steps[-1]["macs"] <= 0.6 * base


def test_pruning_ratio_mode_removes_channels_without_a_macs_target():
    model = _model("resnet18", 1.0)
    conv_before = model.backbone.conv1.out_channels
    prune_once(
        model, SIZE, None, 0.5, PruneConfig(target_macs_ratio=None, pruning_ratio=0.5, importance="magnitude")
    )
    assert model.backbone.conv1.out_channels == conv_before // 2


@pytest.mark.parametrize(
    "raw",
    [
        {"target_macs_ratio": 0.5, "pruning_ratio": 0.5},
        {"target_macs_ratio": 1.5},
        {"importance": "random"},
        {"iterative_steps": 0},
        {"unknown": 1},
    ],
)
def test_bad_prune_configs_are_rejected(raw):
    with pytest.raises(ConfigError):
        PruneConfig.from_dict(raw)


def test_a_model_without_a_backbone_cannot_be_pruned():
    with pytest.raises(ConfigError, match="backbone"):
        head_modules(create_model("fsanet"))


def test_a_pruned_checkpoint_keeps_the_teachers_recipe_and_records_its_gates():
    recipe = TrainConfig(
        input_size=SIZE, epochs=1, batch_size=8, seed=5, threads=1, warmup_epochs=0
    ).to_dict()
    teacher = Checkpoint(_model("mobilenet_v3_small", 0.5), {"input_size": SIZE, "train_config": recipe})
    faces = make_faceset(n=16, size=SIZE)
    config = PruneConfig.from_dict(
        {
            "target_macs_ratio": 0.7,
            "iterative_steps": 1,
            "taylor_batches": 1,
            "max_drop_deg": 90.0,
            "latency": {"runs": 2, "warmup": 0},
        }
    )
    pruned, report = prune_checkpoint(teacher, faces, faces, faces, None, config)
    assert pruned.meta["parent"] == "teacher" and pruned.meta["train_config"]["seed"] == 5
    assert pruned.meta["train_config"]["model"] == dict(teacher.model.spec)
    assert pruned.meta["prune"]["latency"] == {"runs": 2, "warmup": 0, "threads": 1}
    assert report["macs_ratio"] <= 0.7 and report["pruned"]["macs"] == pruned.meta["macs"]
    assert [g["dataset"] for g in report["gates"]] == [
        "test"
    ]  # no real set given: only the test set is gated
