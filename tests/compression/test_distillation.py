import copy

import pytest
import torch

from headpose.angles import NUM_BINS, angle_to_bin
from headpose.compression.distillation import (
    DistillationObjective,
    DistillConfig,
    distill_student,
    set_bn_momentum,
)
from headpose.errors import ConfigError
from headpose.models import create_model
from headpose.training.checkpoint import Checkpoint
from headpose.training.config import LossConfig, TrainConfig
from headpose.training.loop import fit
from tests.conftest import make_faceset

SIZE = 32


def _batch(n: int = 4) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    angles = torch.rand(n, 3, generator=g) * 120 - 60
    return {
        "image": torch.randn(n, 3, SIZE, SIZE, generator=g),
        "angles": angles,
        "bins": torch.from_numpy(angle_to_bin(angles.numpy())),
    }


def _teacher() -> torch.nn.Module:
    torch.manual_seed(1)
    return create_model("hopenet", backbone="mobilenet_relu", width_mult=0.25).eval()


def test_kd_term_is_zero_when_the_student_outputs_the_teachers_logits():
    teacher, batch = _teacher(), _batch()
    with torch.no_grad():
        outputs = teacher(batch["image"])
    loss, parts = DistillationObjective(teacher, LossConfig(), ratio=1.0, temperature=4.0)(outputs, batch)
    assert parts["kd"].item() == pytest.approx(0.0, abs=1e-6)
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
    assert "hard" not in parts


def test_the_loss_mixes_kd_and_hard_label_terms_by_the_ratio():
    teacher, batch = _teacher(), _batch()
    outputs = {"logits": torch.randn(4, 3, NUM_BINS)}
    outputs["angles"] = torch.zeros(4, 3)
    loss, parts = DistillationObjective(
        teacher, LossConfig(), ratio=0.25, temperature=2.0, expectation_weight=0.5
    )(outputs, batch)
    expected = 0.25 * parts["kd"] + 0.75 * parts["hard"] + 0.5 * parts["expectation"]
    assert parts["kd"] > 0 and parts["hard"] > 0 and parts["expectation"] > 0
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


def test_a_student_at_ratio_zero_learns_the_labels_alone_and_the_teacher_never_runs():
    class Absent(torch.nn.Module):
        def forward(self, x):
            raise AssertionError("the teacher ran")

    batch = _batch()
    outputs = {"logits": torch.randn(4, 3, NUM_BINS), "angles": torch.zeros(4, 3)}
    loss, parts = DistillationObjective(Absent(), LossConfig(), ratio=0.0, temperature=4.0)(outputs, batch)
    assert "kd" not in parts and loss.item() == pytest.approx(parts["hard"].item())


def test_each_student_may_have_its_own_ratio():
    config = DistillConfig.from_dict(
        {"ratio": 0.7, "students": {"student": {}, "other": {}}, "student_ratio": {"student": 0.0}}
    )
    assert (config.ratio_for("student"), config.ratio_for("other")) == (0.0, 0.7)
    with pytest.raises(ConfigError, match=r"^distill.student_ratio.student: 1.5 is outside \[0.0, 1.0\]"):
        DistillConfig.from_dict({"students": {"student": {}}, "student_ratio": {"student": 1.5}})


def test_a_student_may_learn_from_its_own_starting_weights_only_if_it_has_some():
    students = {"student": {"name": "hopenet", "backbone": "mobilenet_relu", "width_mult": 0.25}}
    config = DistillConfig.from_dict({"students": students, "student_targets": {"student": "init"}})
    assert config.student_targets == {"student": "init"}
    with pytest.raises(ConfigError, match=r"^distill.student_targets.student: 'self' is not one of"):
        DistillConfig.from_dict({"students": {"student": {}}, "student_targets": {"student": "self"}})
    teacher = Checkpoint(_teacher(), {"input_size": SIZE, "train_config": {"epochs": 1, "batch_size": 8}})
    faces = make_faceset(n=16, size=SIZE)
    with pytest.raises(ConfigError, match="learns from its starting weights, but has no init_from"):
        distill_student(teacher, faces, faces, faces, None, config, "student")


def test_training_overrides_are_checked_under_their_own_keys():
    with pytest.raises(ConfigError, match=r"^distill.train.max_steps: 0 is outside \[1, inf\]"):
        DistillConfig.from_dict({"students": {"student": {}}, "train": {"max_steps": 0}})
    with pytest.raises(ConfigError, match=r"^distill.student_train.student.lr: expected a number"):
        DistillConfig.from_dict({"students": {"student": {}}, "student_train": {"student": {"lr": "fast"}}})
    blended = {"students": {"student": {}}, "student_train": {"student": {"wise_ft_alpha": 0.5}}}
    with pytest.raises(
        ConfigError, match=r"^distill.student_train.student.wise_ft_alpha: .* init_from is null"
    ):
        DistillConfig.from_dict(blended)
    DistillConfig.from_dict({**blended, "init_from": {"student": "pretrained"}})  # a start to blend with


def test_a_student_trains_from_the_teacher_and_the_teacher_is_untouched():
    teacher = _teacher()
    before = copy.deepcopy(teacher.state_dict())
    faces = make_faceset(n=32, size=SIZE)
    config = TrainConfig(
        input_size=SIZE,
        epochs=4,
        batch_size=8,
        lr=3e-3,
        warmup_epochs=0,
        threads=1,
        early_stopping_patience=10,
    )
    torch.manual_seed(0)
    student = create_model("hopenet", backbone="mobilenet_v3_small", width_mult=0.5)
    objective = DistillationObjective(teacher, config.loss, ratio=0.7, temperature=4.0)
    result = fit(student, faces, faces, config, objective=objective)
    losses = [h["train_loss"] for h in result.history]
    assert losses[-1] < losses[0]
    assert "train_kd" in result.history[0] and "train_hard" in result.history[0]
    assert not teacher.training
    for key, value in teacher.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)


def test_students_inherit_the_teachers_recipe_and_input_size_with_the_shared_budget():
    config = DistillConfig.from_dict(
        {
            "students": {"student": {"name": "hopenet", "backbone": "mobilenet_v3_small"}},
            "train": {"epochs": 2, "lr": 0.002},
        }
    )
    meta = {"input_size": 48, "train_config": TrainConfig(epochs=9, lr=0.1, seed=3).to_dict()}
    train = config.student_train_config("student", meta)
    assert (train.input_size, train.epochs, train.lr, train.seed) == (48, 2, 0.002, 3)
    assert train.model == {"name": "hopenet", "backbone": "mobilenet_v3_small"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"teacher": "best"}, "distill.teacher: 'best' is not one of ['pruned', 'teacher']"),
        ({"ratio": 1.5}, "distill.ratio: 1.5 is outside [0.0, 1.0]"),
        ({"temperature": 0}, "distill.temperature: must be > 0, got 0.0"),
        (
            {"scratch_baseline": "nobody"},
            "distill.scratch_baseline: 'nobody' is not a key of distill.students",
        ),
        ({"unknown": 1}, "distill.unknown: unknown key"),
    ],
)
def test_bad_distill_configs_are_rejected(raw, message):
    with pytest.raises(ConfigError) as info:
        DistillConfig.from_dict({"students": {"student": {"name": "hopenet"}}, **raw})
    assert message in str(info.value)


def test_a_distilled_student_records_its_teacher_recipe_and_gates():
    recipe = TrainConfig(
        input_size=SIZE, epochs=1, batch_size=8, seed=3, threads=1, warmup_epochs=0
    ).to_dict()
    teacher = Checkpoint(_teacher(), {"input_size": SIZE, "train_config": recipe})
    config = DistillConfig.from_dict(
        {
            "students": {"tiny": {"name": "hopenet", "backbone": "mobilenet_relu", "width_mult": 0.25}},
            "scratch_baseline": "tiny",
            "max_drop_deg": 90.0,
            "train": {"max_steps": 2},
        }
    )
    faces = make_faceset(n=16, size=SIZE)
    checkpoint, history = distill_student(teacher, faces, faces, faces, None, config, "tiny")
    assert checkpoint.meta["parent"] == "pruned" and checkpoint.meta["train_config"]["seed"] == 3
    assert checkpoint.meta["distill"] == {"ratio": 0.7, "temperature": 4.0, "expectation_weight": 0.0}
    assert [g["dataset"] for g in checkpoint.meta["gates"]] == ["test"] and checkpoint.meta[
        "real_mae"
    ] is None
    assert "val_mae" in history
    with pytest.raises(ConfigError, match="distill.students: has no 'other'"):
        config.student_train_config("other", teacher.meta)


def test_logit_distillation_needs_binned_models():
    teacher = create_model("sixd", backbone="mobilenet_v3_small").eval()
    outputs = {"angles": torch.zeros(4, 3), "rotation": torch.eye(3).expand(4, 3, 3)}
    with pytest.raises(ConfigError, match="binned"):
        DistillationObjective(teacher, LossConfig(), ratio=0.5, temperature=2.0)(outputs, _batch())


def test_student_batchnorm_momentum_can_be_raised_for_short_budgets():
    model = create_model("hopenet", backbone="mobilenet_v3_small")
    assert {m.momentum for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)} == {0.01}
    set_bn_momentum(model, 0.1)
    assert {m.momentum for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)} == {0.1}
