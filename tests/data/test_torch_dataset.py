import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader

from headpose import angles as ang
from headpose.data.augment import build_augmentation
from headpose.data.faceset import FaceSet
from headpose.data.preprocess import MEAN, STD
from headpose.data.torch_dataset import FaceDataset

N, CROP, INPUT = 8, 48, 64


@pytest.fixture
def faceset(tmp_path) -> FaceSet:
    rng = np.random.default_rng(0)
    path = tmp_path / "images.npy"
    np.save(path, rng.integers(0, 256, (N, CROP, CROP, 3), dtype=np.uint8))
    labels = pd.DataFrame(rng.uniform(-80, 80, (N, 3)), columns=["yaw", "pitch", "roll"])
    arrays = {
        "shape_params": rng.normal(size=(N, 10)),
        "expression_params": rng.normal(size=(N, 4)),
        "landmarks": rng.uniform(0, CROP, (N, 68, 2)),
    }
    return FaceSet(np.load(path, mmap_mode="r"), labels, arrays)


def test_item_shapes_dtypes_and_labels(faceset):
    item = FaceDataset(faceset, input_size=INPUT)[3]
    assert item["image"].shape == (3, INPUT, INPUT) and item["image"].dtype == torch.float32
    assert item["angles"].dtype == torch.float32 and item["bins"].dtype == torch.int64
    assert item["index"] == 3 and not item["flipped"]
    expected = faceset.angles[3]
    np.testing.assert_allclose(item["angles"].numpy(), expected, atol=1e-5)
    np.testing.assert_array_equal(item["bins"].numpy(), ang.angle_to_bin(expected))
    np.testing.assert_allclose(item["rotation"].numpy(), ang.euler_to_matrix(*expected), atol=1e-5)
    assert item["shape_params"].shape == (10,) and item["expression_params"].dtype == torch.float32
    assert "landmarks" not in item  # not carried through augmentation


def test_image_is_imagenet_normalised(faceset):
    big = FaceDataset(faceset, input_size=CROP)[0]["image"].numpy()
    pixels = np.asarray(faceset.images[0], np.float32).transpose(2, 0, 1) / 255
    np.testing.assert_allclose(big, (pixels - MEAN[:, None, None]) / STD[:, None, None], atol=1e-5)


def test_rotation_follows_augmented_angles_and_memmap_is_untouched(faceset):
    before = np.array(faceset.images)
    dataset = FaceDataset(faceset, INPUT, build_augmentation({"flip_p": 1.0, "rotate_p": 1.0}), seed=0)
    item = dataset[2]
    assert item["flipped"]
    assert not np.allclose(item["angles"].numpy(), faceset.angles[2])
    expected = ang.euler_to_matrix(*item["angles"].numpy())
    np.testing.assert_allclose(item["rotation"].numpy(), expected, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(faceset.images), before)


def test_seeded_items_repeat_within_an_epoch_and_change_across_epochs(faceset):
    dataset = FaceDataset(faceset, INPUT, build_augmentation({}), seed=1)
    first, again = dataset[5]["image"], dataset[5]["image"]
    dataset.set_epoch(1)
    torch.testing.assert_close(first, again)
    assert not torch.equal(first, dataset[5]["image"])


def test_unseeded_items_follow_torch_manual_seed(faceset):
    dataset = FaceDataset(faceset, INPUT, build_augmentation({}))
    torch.manual_seed(0)
    a = [dataset[i]["image"] for i in range(3)]
    torch.manual_seed(0)
    b = [dataset[i]["image"] for i in range(3)]
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a[0], dataset[0]["image"])


def test_persistent_workers_see_new_epochs_and_runs_reproduce(faceset):
    def run() -> list[torch.Tensor]:
        dataset = FaceDataset(faceset, INPUT, build_augmentation({}), seed=3)
        loader = DataLoader(dataset, batch_size=4, num_workers=2, persistent_workers=True)
        epochs = []
        for epoch in range(2):
            dataset.set_epoch(epoch)
            epochs.append(torch.cat([batch["image"] for batch in loader]))
        return epochs

    first, second = run(), run()
    assert all(torch.equal(x, y) for x, y in zip(first, second))
    assert not torch.equal(first[0], first[1])
    # Same augmentation as in the main process: workers do not change the result.
    single = FaceDataset(faceset, INPUT, build_augmentation({}), seed=3)
    torch.testing.assert_close(first[0][0], single[0]["image"])
