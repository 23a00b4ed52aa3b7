import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")

from headpose.data.faceset import FaceSet  # noqa: E402

# Real test data (not in git): aflw2000-dev/ (AFLW2000-3D format) and video/. Tests that need it skip
# without it.
TEST_DATA = Path(
    os.environ.get("HEADPOSE_TEST_DATA", Path(__file__).resolve().parents[1] / "data" / "01_raw")
)


def make_faceset(n: int = 24, size: int = 32, subjects: int = 6, seed: int = 0) -> FaceSet:
    """Random crops with labels spread over the full yaw range (for wiring tests, not accuracy)."""
    rng = np.random.default_rng(seed)
    angles = np.column_stack([rng.uniform(-99, 99, n), rng.uniform(-60, 60, n), rng.uniform(-60, 60, n)])
    labels = pd.DataFrame(angles, columns=["yaw", "pitch", "roll"]).assign(
        source="synthetic", subject=[f"s{i % subjects}" for i in range(n)]
    )
    return FaceSet(rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8), labels)


@pytest.fixture
def dead_pid() -> str:
    """The pid of a process that has exited (as if it had been killed mid-work)."""
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def tiny_faceset() -> FaceSet:
    return make_faceset()


@pytest.fixture
def aflw2000_dev() -> Path:
    root = TEST_DATA / "aflw2000-dev"
    if not root.is_dir():
        pytest.skip(f"{root} is not available (set HEADPOSE_TEST_DATA)")
    return root


@pytest.fixture
def plain_logging():
    """No root log handlers, as in a fresh ``headpose`` process: earlier Kedro sessions in the test
    process leave a console handler on stdout, and CLI tests read stdout."""
    root = logging.getLogger()
    handlers = root.handlers[:]
    root.handlers = []
    yield
    root.handlers = handlers
