import numpy as np
import pandas as pd
import pytest

from headpose.data.faceset import FaceSet, load_faceset, save_faceset
from headpose.errors import DatasetError


def test_save_load_round_trip_with_arrays(tmp_path, tiny_faceset):
    tiny_faceset.arrays["rotation"] = np.repeat(np.eye(3, dtype=np.float32)[None], len(tiny_faceset), 0)
    save_faceset(tiny_faceset, tmp_path / "set")
    loaded = load_faceset(tmp_path / "set")
    assert np.array_equal(loaded.images, tiny_faceset.images)
    assert np.allclose(loaded.angles, tiny_faceset.angles)
    assert np.array_equal(loaded.arrays["rotation"], tiny_faceset.arrays["rotation"])
    assert list(loaded.labels["subject"]) == list(tiny_faceset.labels["subject"])


def test_mismatched_labels_are_refused():
    with pytest.raises(DatasetError, match="3 images but 2 label rows"):
        FaceSet(
            np.zeros((3, 8, 8, 3), np.uint8), pd.DataFrame({"yaw": [0, 0], "pitch": [0, 0], "roll": [0, 0]})
        )


def test_loading_a_folder_that_is_not_a_faceset_names_the_file(tmp_path):
    with pytest.raises(DatasetError, match="images.npy: missing"):
        load_faceset(tmp_path)


def test_subset_and_concat(tiny_faceset):
    a, b = tiny_faceset.subset([0, 1, 2]), tiny_faceset.subset([3, 4])
    both = FaceSet.concat([a, b])
    assert len(both) == 5
    assert np.array_equal(both.images[3], tiny_faceset.images[3])
