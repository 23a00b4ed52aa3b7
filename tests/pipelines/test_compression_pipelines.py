import json

import mlflow
import onnx
import pytest

from headpose.compression.quantization import count_qdq
from headpose.flops import count_macs
from headpose.pipelines.artifacts import QAT_STUDENT, QUANTIZED, STUDENTS
from headpose.training.checkpoint import load_checkpoint

FILES = [q.onnx.removesuffix("_onnx") for q in QUANTIZED]  # data/06_models/quantized/<file>.onnx


def _latest_run_metrics() -> dict[str, float]:
    run = max(
        mlflow.search_runs(experiment_names=["headpose"], output_format="list"),
        key=lambda r: r.info.start_time,
    )
    return run.data.metrics


@pytest.fixture(scope="module")
def trained(kedro_project, run_pipeline):
    for stage in ("pseudolabel", "profile", "data"):  # no photo pools: a synthetic mix
        run_pipeline(stage)
    run_pipeline("train")
    return kedro_project


def test_prune_pipeline_shrinks_the_teacher_for_real_and_logs_the_figures(trained, run_pipeline):
    run_pipeline("prune")
    models = trained / "data" / "06_models"
    teacher, pruned = load_checkpoint(models / "teacher.pt"), load_checkpoint(models / "pruned.pt")
    assert count_macs(pruned.model, pruned.input_size) <= 0.6 * count_macs(teacher.model, teacher.input_size)
    assert pruned.model.head.out_features == teacher.model.head.out_features
    report = json.loads((trained / "data" / "08_reporting" / "prune_report.json").read_text())
    assert all(g["passed"] for g in report["gates"]) and report["macs_ratio"] <= 0.6
    assert report["pruned"]["torch_latency_median_ms"] > 0
    metrics = _latest_run_metrics()
    assert metrics["prune.pruned.macs"] == report["pruned"]["macs"]
    assert {"prune.teacher.mae", "prune.pruned.mae", "prune.summary.torch_speedup"} <= set(metrics)


def test_distill_pipeline_trains_students_from_the_pruned_teacher(trained, run_pipeline):
    run_pipeline("distill")
    models = trained / "data" / "06_models"
    for name in STUDENTS:
        checkpoint = load_checkpoint(models / f"{name}.pt")
        assert checkpoint.input_size == 32 and checkpoint.meta["parent"] == "pruned"
    assert not (models / "student_scratch.pt").exists()  # the baseline is not part of the default DAG
    report = json.loads((trained / "data" / "08_reporting" / "distill_report.json").read_text())
    assert report["models"]["student"]["macs"] < report["models"]["teacher"]["macs"]
    metrics = _latest_run_metrics()
    assert {f"distill.{s}.mae" for s in STUDENTS} | {"distill.student.train.val_mae"} <= set(metrics)


def test_distill_baseline_trains_the_student_without_a_teacher_and_reports_the_gain(trained, run_pipeline):
    run_pipeline("distill_baseline")
    scratch = load_checkpoint(trained / "data" / "06_models" / "student_scratch.pt")
    assert scratch.meta["parent"] is None
    report = json.loads((trained / "data" / "08_reporting" / "distill_baseline_report.json").read_text())
    assert report["student"] == "student"
    assert report["gain_deg"] == pytest.approx(report["scratch_mae"] - report["distilled_mae"])
    assert report["models"]["student"]["macs"] == report["models"]["student_scratch"]["macs"]
    metrics = _latest_run_metrics()
    assert {
        "distill_baseline.gain_deg",
        "distill_baseline.student_scratch.mae",
        "distill_baseline.student_scratch.train.val_mae",
    } <= set(metrics)


def test_quantize_pipeline_writes_int8_models_and_a_measured_shipping_decision(trained, run_pipeline):
    run_pipeline("quantize")
    quantized = trained / "data" / "06_models" / "quantized"
    assert len(FILES) == 7 and f"{QAT_STUDENT}_int8_qat" in FILES  # 2 students x (FP32, cpu, trt) + QAT
    for name in FILES:
        model = onnx.load(str(quantized / f"{name}.onnx"))
        has_qdq = count_qdq(model)["QuantizeLinear"] > 0
        assert has_qdq == ("int8" in name), name
    decision = json.loads((trained / "data" / "08_reporting" / "shipping_decision.json").read_text())
    assert decision["ships"] in {q.name for q in QUANTIZED}
    assert decision["precision"] in ("fp32", "int8") and decision["reason"]
    for verdict in decision["int8_verdicts"]:
        if verdict["name"] == decision["ships"]:
            assert verdict["eligible"] and verdict["speedup_vs_parent"] > 1
    assert (trained / "data" / "08_reporting" / "quantize_latency_vs_mae.png").stat().st_size > 10_000
    metrics = _latest_run_metrics()
    for name in ("student", f"{QAT_STUDENT}_int8_cpu", f"{QAT_STUDENT}_int8_qat"):
        assert metrics[f"quantize.{name}.latency_ms"] > 0 and f"quantize.{name}.mae" in metrics
