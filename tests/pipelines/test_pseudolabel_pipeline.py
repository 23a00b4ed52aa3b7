import json

import mlflow
import numpy as np
import pandas as pd
import pytest
from kedro.framework.session import KedroSession

from headpose.data.faceset import load_faceset
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
    assert {"pseudolabel/pseudolabel_pose_histograms.png", "pseudolabel/pseudolabel_preview.png"} <= {
        a.path for a in client.list_artifacts(run.info.run_id, "pseudolabel")
    }
    assert {"pseudolabel/pseudolabel_report.csv", "pseudolabel/pseudolabel_summary.json"} <= {
        a.path for a in client.list_artifacts(run.info.run_id, "pseudolabel")
    }


def test_without_pools_pseudolabel_and_profile_give_no_faces(kedro_project, run_pipeline):
    run_pipeline("pseudolabel")
    run_pipeline("profile")
    for name in ("pseudolabel", "profiled"):
        assert len(load_faceset(kedro_project / "data" / "03_primary" / name)) == 0
    assert (
        json.loads((kedro_project / "data" / "08_reporting" / "pseudolabel_summary.json").read_text())[
            "photos"
        ]
        == 0
    )


def test_profile_pipeline_renders_pseudolabelled_faces_at_large_poses(kedro_project, run_pipeline, tmp_path):
    write_photo_pool(tmp_path)
    run_pipeline(
        "pseudolabel",
        {"pseudolabel": {"pools": {"synth": {"root": str(tmp_path), "subject": "parent"}}, "workers": 1}},
    )
    run_pipeline("profile", {"profile": {"per_face": 3}})
    source = load_faceset(kedro_project / "data" / "03_primary" / "pseudolabel")
    profiled = load_faceset(kedro_project / "data" / "03_primary" / "profiled")
    assert len(profiled) == 3 * len(source) and (profiled.labels.source == "profiled").all()
    assert set(profiled.labels.subject) == set(
        source.labels.subject
    )  # splits keep a photo's renders together
    assert (kedro_project / "data" / "08_reporting" / "profile_preview.png").stat().st_size > 10_000


def test_pseudolabel_and_profile_run_first_in_the_default_dag(kedro_project):
    from kedro.framework.project import pipelines

    pipelines.set_requested(None)  # earlier slice tests ran single pipelines: load them all again
    with KedroSession.create(project_path=kedro_project, env="test"):
        names = [n.name for n in pipelines["__default__"].nodes]
        assert (
            names.index("pseudolabel.pseudolabel_photos")
            < names.index("profile.profile_photos")
            < names.index("data.mix_training_data")
        )
        # each stage is one namespace and one tag (kedro-viz draws it as a box; --tags selects it)
        for name, pipe in pipelines.items():
            if name != "__default__":
                assert {(n.namespace, frozenset(n.tags)) for n in pipe.nodes} == {(name, frozenset({name}))}
