import json

import mlflow
import numpy as np
import pandas as pd
import pytest
from kedro.framework.session import KedroSession

from headpose.data.faceset import load_faceset
from headpose.errors import ConfigError
from tests.data.conftest import write_photo_pool


def test_pseudolabel_pipeline_writes_faces_report_and_logs_to_mlflow(kedro_project, run_pipeline, tmp_path):
    pytest.importorskip("ai_edge_litert")
    truth = write_photo_pool(tmp_path)
    pools = {"synth": {"root": str(tmp_path), "subject": "parent"}}
    run_pipeline("pseudolabel", {"pseudolabel": {"pools": pools, "workers": 1}})
    faces = load_faceset(kedro_project / "data" / "03_primary" / "pseudolabel")
    assert sorted(faces.labels.file) == sorted(truth.index)
    assert faces.arrays["landmarks_478"].shape == (len(truth), 478, 3)
    labels = faces.labels  # the shipped yaw calibration corrects yaw only
    assert not np.allclose(labels.yaw, labels.raw_yaw) and np.allclose(labels.pitch, labels.raw_pitch)
    reporting = kedro_project / "data" / "08_reporting"
    report = pd.read_csv(reporting / "pseudolabel_report.csv")
    assert len(report) == len(truth) + 2 and set(report.status) == {"kept", "unreadable", "no_face"}
    summary = json.loads((reporting / "pseudolabel_summary.json").read_text())
    assert summary["pools"]["synth"]["status"]["kept"] == len(truth)
    assert (reporting / "pseudolabel_pose_histograms.png").stat().st_size > 10_000
    assert (reporting / "pseudolabel_preview.png").stat().st_size > 10_000

    runs = mlflow.search_runs(experiment_names=["headpose"], output_format="list")
    run = max(runs, key=lambda r: r.info.start_time)
    assert run.data.metrics["pseudolabel.synth.status.kept"] == len(truth)
    assert run.data.metrics["pseudolabel.synth.status.unreadable"] == 1
    assert run.data.metrics["pseudolabel.synth.kept_fraction"] == 0.75
    client = mlflow.MlflowClient()
    assert {"plots/pseudolabel_pose_histograms.png", "plots/pseudolabel_preview.png"} <= {
        a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert {"reports/pseudolabel_report.csv", "reports/pseudolabel_summary.json"} <= {
        a.path for a in client.list_artifacts(run.info.run_id, "reports")}


def test_pseudolabel_pipeline_without_pools_is_a_config_error(kedro_project, run_pipeline):
    with pytest.raises(ConfigError, match="no pools configured"):
        run_pipeline("pseudolabel")


def test_pseudolabel_is_registered_but_not_in_the_default_dag(kedro_project):
    from kedro.framework.project import pipelines

    with KedroSession.create(project_path=kedro_project, env="test"):
        assert "pseudolabel_photos" in {n.name for n in pipelines["pseudolabel"].nodes}
        assert "pseudolabel_photos" not in {n.name for n in pipelines["__default__"].nodes}
