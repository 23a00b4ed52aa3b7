"""Slice test: export -> build -> benchmark -> register on the tiny profile, with a real MLflow registry."""

import json

import mlflow
import pytest
from kedro.framework.session import KedroSession
from mlflow import MlflowClient

from headpose.deploy.benchmark import ROW_FIELDS
from headpose.deploy.tensorrt_build import tensorrt_unavailable_reason
from headpose.pipelines.artifacts import QUANTIZED_ONNX, SHIPPING_DECISION, STUDENTS, checkpoint

pytestmark = pytest.mark.slow
DEPLOY = ("export", "build", "benchmark", "register")
BEFORE = ["pseudolabel", "profile", "data", "train", "prune", "distill", "quantize"]  # in DAG order


def stages_to_run(project) -> list[str]:
    """The upstream stages from the first one whose outputs (that deploy reads) are missing."""
    needed = {
        "pseudolabel_faces": "pseudolabel",
        "profiled_faces": "profile",
        "test_faces": "data",
        "teacher_model": "train",
        "pruned_model": "prune",
        SHIPPING_DECISION: "quantize",
        **{checkpoint(s): "distill" for s in STUDENTS},
        **dict.fromkeys(QUANTIZED_ONNX, "quantize"),
    }
    with KedroSession.create(project_path=project, env="test") as session:
        catalog = session.load_context().catalog
        missing = {stage for entry, stage in needed.items() if not catalog.exists(entry)}
    return BEFORE[min(map(BEFORE.index, missing)) :] if missing else []


@pytest.fixture(scope="module")
def deployed(kedro_project, run_pipeline):
    for stage in [*stages_to_run(kedro_project), *DEPLOY]:  # reuses upstream outputs of earlier slice tests
        run_pipeline(stage)
    return kedro_project / "data"


def test_export_writes_checked_onnx_within_parity_tolerance(deployed):
    report = json.loads((deployed / "08_reporting" / "onnx_parity.json").read_text())
    teacher = report["models"]["teacher"]
    assert teacher["parity"]["max_abs_diff_deg"] <= 0.01 and teacher["input_size"] == 32
    assert (deployed / "06_models" / "onnx" / "teacher.onnx").stat().st_size == teacher["size_bytes"]
    for item in report["missing"]:  # artifacts of stages not registered are reported, not fatal
        assert "not produced by any registered pipeline" in item["reason"]


def test_build_records_why_each_engine_was_skipped(deployed):
    report = json.loads((deployed / "08_reporting" / "tensorrt_build.json").read_text())
    reason = tensorrt_unavailable_reason()
    if reason is None:
        pytest.skip("TensorRT and a CUDA GPU are present: engines are built")
    assert report["engines"] and all(
        e["status"] == "skipped" and e["reason"] for e in report["engines"].values()
    )
    assert report["engines"]["teacher_fp16"]["reason"] == reason
    assert not list((deployed / "06_models" / "tensorrt").glob("*.engine"))


def test_benchmark_measures_every_artifact_and_reports_the_rest(deployed):
    rows = json.loads((deployed / "08_reporting" / "benchmark.json").read_text())
    by_name = {r["name"]: r for r in rows}
    for row in rows:
        assert set(ROW_FIELDS) <= set(row)
    for name in ("teacher_pytorch", "teacher_onnx"):
        row = by_name[name]
        assert (
            row["skipped"] is None
            and row["p50_ms"] > 0
            and row["mae_synthetic"] > 0
            and row["mae_real"] is None
        )
        assert set(row["throughput"]) == {"1", "8"} and row["params"] > 0 and row["macs"] > 0
    assert by_name["teacher_fp16_trt"]["skipped"] or tensorrt_unavailable_reason() is None
    table = (deployed / "08_reporting" / "benchmark.md").read_text().strip().splitlines()
    assert len(table) == 2 + len(rows)
    assert (deployed / "08_reporting" / "benchmark_latency_vs_mae.png").stat().st_size > 5_000

    runs = mlflow.search_runs(experiment_names=["headpose"], output_format="list")
    run = next(r for r in runs if "benchmark.teacher_onnx.p50_ms" in r.data.metrics)
    assert run.data.metrics["benchmark.teacher_onnx.p50_ms"] == pytest.approx(
        by_name["teacher_onnx"]["p50_ms"]
    )
    logged = {a.path for a in MlflowClient().list_artifacts(run.info.run_id, "benchmark")}
    assert {"benchmark/benchmark.json", "benchmark/benchmark.md"} <= logged


def test_register_promotes_the_first_candidate_and_gates_a_slow_one(deployed, run_pipeline):
    first = json.loads((deployed / "08_reporting" / "registration.json").read_text())
    client = MlflowClient()
    champion = client.get_model_version_by_alias("headpose", "champion")
    assert first["alias"] == "champion" and int(champion.version) == first["version"]
    assert champion.tags["artifact"] == first["candidate"] and champion.tags["promotion"] == "champion"
    assert (
        float(champion.tags["mae_synthetic"]) > 0 and champion.tags["data_version"] == first["data_version"]
    )
    assert {"data.train", "data.test", "data.real_test", "data.pseudolabel", "git_commit"} <= set(
        champion.tags
    )
    assert first["candidate_reason"].startswith("the shipping decision names")  # the quantize stage's

    run_pipeline("register", {"register": {"gates": {"latency_budget_ms": 1e-6}}})
    second = json.loads((deployed / "08_reporting" / "registration.json").read_text())
    assert second["alias"] == "challenger" and "exceeds the latency budget" in second["reason"]
    assert int(client.get_model_version_by_alias("headpose", "champion").version) == first["version"]
