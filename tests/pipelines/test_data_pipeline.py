import mlflow
import numpy as np
import pytest

from headpose.angles import NUM_BINS, angle_to_bin
from headpose.data.faceset import load_faceset
from headpose.errors import ConfigError


def test_data_pipeline_writes_disjoint_splits_calibration_and_logs_to_mlflow(kedro_project, run_pipeline):
    for stage in ("pseudolabel", "profile", "data"):  # no photo pools: a synthetic mix
        run_pipeline(stage)
    inputs = kedro_project / "data" / "05_model_input"
    splits = {name: load_faceset(inputs / name) for name in ("train", "val", "test", "calibration")}
    assert sum(len(splits[s]) for s in ("train", "val", "test")) == 160
    subjects = [set(splits[s].labels["subject"]) for s in ("train", "val", "test")]
    assert not (subjects[0] & subjects[1]) and not (subjects[0] & subjects[2])
    assert len(splits["calibration"]) == 40
    assert splits["train"].images.shape[1:] == (64, 64, 3)
    assert len(np.unique(angle_to_bin(splits["calibration"].angles[:, 0]))) >= min(40, NUM_BINS) // 2

    reporting = kedro_project / "data" / "08_reporting"
    assert (reporting / "augmentation_preview.png").stat().st_size > 10_000
    assert (reporting / "angle_histograms.png").stat().st_size > 10_000

    runs = mlflow.search_runs(experiment_names=["headpose"], output_format="list")
    latest = max(runs, key=lambda r: r.info.start_time)
    assert latest.data.metrics["data.train.n"] == len(splits["train"])
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(latest.info.run_id, "data")}
    assert {"data/augmentation_preview.png", "data/angle_histograms.png"} <= artifacts


@pytest.mark.parametrize(
    "params, message",
    [
        ({"synht": {"num_images": 3}}, "did you mean 'synth'?"),
        ({"split": {"seed": "abc"}}, "split.seed: expected an integer"),
    ],
)
def test_a_bad_parameter_fails_before_any_output_is_written(kedro_project, run_pipeline, params, message):
    before = (
        sorted(p for p in (kedro_project / "data").rglob("*")) if (kedro_project / "data").exists() else []
    )
    with pytest.raises(ConfigError, match=message):
        run_pipeline("data", params)
    after = (
        sorted(p for p in (kedro_project / "data").rglob("*")) if (kedro_project / "data").exists() else []
    )
    assert after == before
