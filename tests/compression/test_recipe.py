from headpose.compression.recipe import inherit_recipe
from headpose.training.config import TrainConfig


def test_the_child_inherits_the_parents_recipe_under_overrides_in_order_and_pinned_keys_last():
    parent = {"train_config": TrainConfig(epochs=9, lr=0.1, seed=3, batch_size=32).to_dict()}
    child = inherit_recipe(
        parent,
        {"epochs": 2, "lr": 0.01},
        {"lr": 0.002},
        None,
        model={"name": "hopenet", "backbone": "mobilenet_relu"},
        input_size=48,
    )
    assert (child.epochs, child.lr, child.seed, child.batch_size, child.input_size) == (2, 0.002, 3, 32, 48)
    assert child.model == {"name": "hopenet", "backbone": "mobilenet_relu"}


def test_an_override_replaces_a_nested_block_whole():
    parent = {"train_config": TrainConfig.from_dict({"loss": {"alpha": 0.5, "wing_w": 3.0}}).to_dict()}
    child = inherit_recipe(parent, {"loss": {"alpha": 0.01}})
    assert child.loss.alpha == 0.01 and child.loss.wing_w == TrainConfig().loss.wing_w


def test_a_parent_without_a_recipe_gives_the_defaults_with_the_overrides():
    assert inherit_recipe({}, {"epochs": 4}) == TrainConfig(epochs=4)
