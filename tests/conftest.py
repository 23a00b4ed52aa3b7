import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")

from headpose.data.faceset import FaceSet  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def make_faceset(n: int = 24, size: int = 32, subjects: int = 6, seed: int = 0) -> FaceSet:
    """Random crops with labels spread over the full yaw range (for wiring tests, not accuracy)."""
    rng = np.random.default_rng(seed)
    angles = np.column_stack([rng.uniform(-99, 99, n), rng.uniform(-60, 60, n), rng.uniform(-60, 60, n)])
    labels = pd.DataFrame(angles, columns=["yaw", "pitch", "roll"]).assign(
        source="synthetic", subject=[f"s{i % subjects}" for i in range(n)]
    )
    return FaceSet(rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8), labels)


@pytest.fixture
def tiny_faceset() -> FaceSet:
    return make_faceset()


@pytest.fixture
def aflw2000_dev() -> Path:
    root = SHARED_DATA / "aflw2000-dev"
    if not root.is_dir():
        pytest.skip("../shared/data/aflw2000-dev is not available")
    return root
