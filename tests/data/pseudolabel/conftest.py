"""A teacher and a labelled pool of rendered heads, shared by the pseudo-labelling tests."""

from pathlib import Path

import pytest

from headpose.data.pseudolabel.pools import pseudolabel_pools
from tests.data.conftest import write_photo_pool


def pool_config(root: Path, **overrides) -> dict:
    """A ``pseudolabel:`` block with one pool at ``root`` (subjects: parent folders), in this process."""
    return {"pools": {"synth": {"root": str(root), "subject": "parent"}}, "workers": 1, **overrides}


@pytest.fixture(scope="module")
def teacher():
    pytest.importorskip("ai_edge_litert")
    from headpose.teacher.teacher import MediaPipeTeacher

    return MediaPipeTeacher(refine=False, calibration=None)  # raw angles: no fitted calibration


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    root = tmp_path_factory.mktemp("pool")
    return root, write_photo_pool(root)


@pytest.fixture(scope="module")
def labelled(pool, teacher):
    root, _ = pool
    return pseudolabel_pools(pool_config(root), teacher, progress=False)
