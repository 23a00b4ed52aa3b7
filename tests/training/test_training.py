import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from headpose.errors import ConfigError, DatasetError
from headpose.models import create_model
from headpose.training.checkpoint import Checkpoint, initial_model, load_checkpoint, save_checkpoint
from headpose.training.config import LossConfig, TrainConfig
from headpose.training.distributed import train_distributed
from headpose.training.loop import fit
from headpose.training.objective import Objective
from tests.conftest import make_faceset

TINY = {
    "model": {"name": "hopenet", "backbone": "mobilenet_v3_small"},
    "input_size": 32,
    "batch_size": 8,
    "lr": 3e-3,
    "warmup_epochs": 0.0,
    "threads": 1,
}


def test_fit_lowers_the_training_loss_and_keeps_the_best_validation_weights():
    train, val = make_faceset(n=32, seed=1), make_faceset(n=8, seed=2)
    config = TrainConfig.from_dict({**TINY, "epochs": 4, "early_stopping_patience": 10})
    result = fit(create_model(**config.model), train, val, config)
    losses = [h["train_loss"] for h in result.history]
    assert len(losses) == 4 and losses[-1] < losses[0]
    assert result.best_val_mae == min(h["val_mae"] for h in result.history)
    assert result.images_per_second > 0


@pytest.mark.parametrize("frozen", [False, True])
def test_freeze_batchnorm_keeps_the_running_statistics_while_the_weights_train(frozen):
    train, val = make_faceset(n=16, seed=1), make_faceset(n=8, seed=2)
    config = TrainConfig.from_dict({**TINY, "epochs": 1, "freeze_batchnorm": frozen})
    model = create_model(**config.model)
    bn = next(m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    before_mean, before_weight = bn.running_mean.clone(), bn.weight.detach().clone()
    fit(model, train, val, config)
    assert torch.equal(bn.running_mean, before_mean) == frozen
    assert not torch.equal(bn.weight.detach(), before_weight)


def test_wise_ft_alpha_blends_the_fine_tuned_weights_with_the_start(tmp_path):
    train, val = make_faceset(n=16, seed=1), make_faceset(n=8, seed=2)
    path = tmp_path / "start.pt"
    save_checkpoint(Checkpoint(create_model(**TINY["model"]), {"input_size": 32}), path)
    start = load_checkpoint(path).model.state_dict()

    def fine_tuned(alpha: float) -> dict[str, torch.Tensor]:
        config = TrainConfig.from_dict({**TINY, "epochs": 1, "init_from": str(path), "wise_ft_alpha": alpha})
        return fit(initial_model(config.model, config.init_from), train, val, config).model.state_dict()

    tuned, half = fine_tuned(1.0), fine_tuned(0.5)
    weight = "head.weight"
    assert not torch.equal(tuned[weight], start[weight])
    torch.testing.assert_close(half[weight], (start[weight] + tuned[weight]) / 2)
    bn_mean = next(k for k in start if k.endswith("running_mean"))
    torch.testing.assert_close(half[bn_mean], (start[bn_mean] + tuned[bn_mean]) / 2)
    with pytest.raises(ConfigError, match="^train.wise_ft_alpha: blends the fine-tuned weights"):
        TrainConfig.from_dict({"wise_ft_alpha": 0.5})


def test_unknown_or_invalid_train_keys_are_named():
    with pytest.raises(ConfigError, match="^train.epoch: unknown key; did you mean 'epochs'"):
        TrainConfig.from_dict({"epoch": 3})
    with pytest.raises(ConfigError, match="^train.batch_size: expected an integer, got '64'"):
        TrainConfig.from_dict({"batch_size": "64"})
    with pytest.raises(ConfigError, match=r"^train.loss.alpha: -1.0 is outside \[0.0, inf\]"):
        TrainConfig.from_dict({"loss": {"alpha": -1}})


def test_objective_follows_the_model_outputs():
    objective = Objective(LossConfig())
    batch = {
        "angles": torch.tensor([[10.0, 0, 0], [60.0, 0, 0]]),
        "bins": torch.tensor([[36, 33, 33], [53, 33, 33]]),
        "rotation": torch.eye(3).repeat(2, 1, 1),
    }
    _, binned = objective({"logits": torch.zeros(2, 3, 66), "angles": torch.zeros(2, 3)}, batch)
    _, rotation = objective({"rotation": torch.eye(3).repeat(2, 1, 1), "angles": torch.zeros(2, 3)}, batch)
    _, direct = objective({"angles": torch.zeros(2, 3)}, batch)
    assert (
        set(binned) == {"loss", "binned"}
        and set(rotation) == {"loss", "geodesic"}
        and set(direct) == {"loss", "wing"}
    )
    assert float(rotation["geodesic"]) == pytest.approx(0.0, abs=1e-3)


def test_checkpoint_round_trip_gives_identical_outputs(tmp_path):
    model = create_model("sixd", backbone="mobilenet_v3_small").eval()
    save_checkpoint(Checkpoint(model, {"input_size": 32}), tmp_path / "m.pt")
    loaded = load_checkpoint(tmp_path / "m.pt")
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x)["angles"], loaded.model(x)["angles"])
    assert loaded.input_size == 32


def test_a_corrupt_checkpoint_names_the_file(tmp_path):
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(DatasetError, match="broken.pt: not a readable headpose checkpoint"):
        load_checkpoint(bad)


class _RunsCode:
    def __reduce__(self):
        import os

        return (os.system, ("touch pwned",))


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.save({"spec": {"name": "hopenet"}, "state_dict": {}, "meta": _RunsCode()}, tmp_path / "evil.pt")
    with pytest.raises(DatasetError, match="evil.pt: not a readable headpose checkpoint"):
        load_checkpoint(tmp_path / "evil.pt")
    assert not (tmp_path / "pwned").exists()


def test_weights_that_do_not_fit_the_architecture_name_the_file(tmp_path):
    model = create_model("sixd", backbone="mobilenet_v3_small").eval()
    save_checkpoint(Checkpoint(model, {"input_size": 32}), tmp_path / "m.pt")
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    payload["state_dict"].pop(next(iter(payload["state_dict"])))
    torch.save(payload, tmp_path / "m.pt")
    with pytest.raises(DatasetError, match="m.pt: its weights do not match its architecture"):
        load_checkpoint(tmp_path / "m.pt")


def test_ddp_with_two_cpu_processes_trains():
    train, val = make_faceset(n=32, seed=3), make_faceset(n=8, seed=4)
    config = TrainConfig.from_dict(
        {**TINY, "epochs": 3, "distributed": {"nproc_per_node": 2, "backend": "gloo"}}
    )
    checkpoint, result = train_distributed(train, val, config)
    losses = [h["train_loss"] for h in result.history]
    # epoch to epoch the loss of 32 images is noisy (106.7 -> 107.9 seen); over three epochs it fell by 38-59
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert checkpoint.input_size == 32
    assert np.isfinite(result.best_val_mae)


def test_the_time_budget_stops_training_inside_a_long_epoch():
    train, val = make_faceset(n=64, seed=5), make_faceset(n=8, seed=6)
    config = TrainConfig.from_dict({**TINY, "epochs": 3, "batch_size": 4, "max_minutes": 1e-6})
    result = fit(create_model(**config.model), train, val, config)
    assert len(result.history) == 1  # stopped after the first step, evaluated, and did not start epoch 2


def test_the_step_budget_ends_training_where_the_cosine_schedule_ends():
    train, val = make_faceset(n=64, seed=5), make_faceset(n=8, seed=6)
    config = TrainConfig.from_dict(
        {**TINY, "epochs": 5, "batch_size": 4, "max_steps": 20, "early_stopping_patience": 10}
    )
    result = fit(create_model(**config.model), train, val, config)
    assert len(result.history) == 2  # 16 steps per epoch: epoch 2 stops after its 4th step
    assert result.history[-1]["lr"] == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ConfigError, match="train.max_steps"):
        TrainConfig.from_dict({**TINY, "max_steps": 0})


_KILLED_RUN = """
import os, signal, sys
import torch
from tests.conftest import make_faceset
from headpose.models import create_model
from headpose.training.config import TrainConfig
from headpose.training.loop import fit

config = TrainConfig.from_dict({**%r, "resume_from": sys.argv[1]})
def die(epoch, metrics):
    if epoch == 3:  # epochs 1 and 2 are saved; kill -9 itself mid-run, before epoch 3 is
        os.kill(os.getpid(), signal.SIGKILL)
torch.manual_seed(0)  # the same initial weights in every process
fit(create_model(**config.model), make_faceset(n=32, seed=1), make_faceset(n=8, seed=2), config, on_epoch=die)
"""


def test_a_killed_training_resumes_from_its_last_epoch_and_ends_as_an_uninterrupted_one(tmp_path):
    recipe = {**TINY, "epochs": 5, "early_stopping_patience": 10}
    train, val = make_faceset(n=32, seed=1), make_faceset(n=8, seed=2)
    config = TrainConfig.from_dict(recipe)
    torch.manual_seed(0)
    whole = fit(create_model(**config.model), train, val, config)

    state = tmp_path / "teacher.resume.pt"
    root = Path(__file__).resolve().parents[2]
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_RUN % (recipe,), str(state)],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert state.is_file() and not list(tmp_path.glob(".teacher.resume.pt.*"))  # whole or absent

    resumed_config = TrainConfig.from_dict({**recipe, "resume_from": str(state)})
    resumed = fit(create_model(**config.model), train, val, resumed_config)
    assert resumed.steps == whole.steps and len(resumed.history) == len(whole.history) == 5
    # epochs 1-2 come from the killed process, 3-5 from the resumed one: the same as one run
    assert [h["val_mae"] for h in resumed.history] == pytest.approx(
        [h["val_mae"] for h in whole.history], abs=1e-4
    )
    assert not state.exists()  # a finished run leaves no state behind


def test_a_resume_state_of_another_recipe_is_ignored(tmp_path, caplog):
    train, val = make_faceset(n=16, seed=1), make_faceset(n=8, seed=2)
    state = tmp_path / "s.pt"
    torch.save({"fingerprint": "someone else"}, state)
    config = TrainConfig.from_dict({**TINY, "epochs": 1, "resume_from": str(state)})
    result = fit(create_model(**config.model), train, val, config)
    assert len(result.history) == 1 and "another recipe" in caplog.text
