import pytest
import torch

from headpose.errors import ConfigError
from headpose.models import create_model
from headpose.training.checkpoint import Checkpoint, initial_model, save_checkpoint

SPEC = {"name": "hopenet", "backbone": "mobilenet_v3_small"}


@pytest.fixture
def checkpoint_path(tmp_path):
    torch.manual_seed(1)
    path = tmp_path / "start.pt"
    save_checkpoint(Checkpoint(create_model(**SPEC), {"input_size": 32}), path)
    return path


def test_without_init_from_weights_are_fresh():
    torch.manual_seed(0)
    a = initial_model(SPEC)
    torch.manual_seed(1)
    b = initial_model(SPEC)
    assert not torch.equal(a.head.weight, b.head.weight)


def test_init_from_starts_from_the_checkpoint_weights_in_train_mode(checkpoint_path):
    start = torch.load(checkpoint_path, weights_only=True)["state_dict"]
    model = initial_model(SPEC, str(checkpoint_path))
    assert model.training
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, start[name]), name


def test_init_from_another_architecture_is_a_config_error(checkpoint_path):
    with pytest.raises(ConfigError, match="the configured model is"):
        initial_model(
            {"name": "hopenet", "backbone": "mobilenet_relu", "width_mult": 0.5}, str(checkpoint_path)
        )


def test_init_from_a_missing_file_names_it(tmp_path):
    with pytest.raises(Exception, match="missing.pt"):
        initial_model(SPEC, str(tmp_path / "missing.pt"))


def test_the_default_student_starts_from_the_shipped_model():
    from pathlib import Path

    import yaml

    from headpose.compression.distillation import DistillConfig

    repo = Path(__file__).resolve().parents[2]
    distill = yaml.safe_load((repo / "conf" / "base" / "parameters_distill.yml").read_text())["distill"]
    config = DistillConfig.from_dict(distill).student_train_config(
        "student", {"input_size": 64, "train_config": {}}
    )
    assert config.init_from == "pretrained" and config.lr == distill["student_train"]["student"]["lr"]
    model = initial_model(
        config.model, config.init_from
    )  # the shipped checkpoint has the configured architecture
    assert sum(p.numel() for p in model.parameters()) > 0
