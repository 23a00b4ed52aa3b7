import json

import mlflow

from headpose.training.checkpoint import load_checkpoint


def test_train_pipeline_saves_a_reloadable_teacher_and_logs_epochs(kedro_project, run_pipeline):
    for stage in ("pseudolabel", "profile", "data"):  # no photo pools: a synthetic mix
        run_pipeline(stage)
    run_pipeline("train", {"train": {"epochs": 2}})
    checkpoint = load_checkpoint(kedro_project / "data" / "06_models" / "teacher.pt")
    assert checkpoint.input_size == 32
    assert checkpoint.meta["train_config"]["epochs"] == 2
    report = json.loads((kedro_project / "data" / "08_reporting" / "teacher_evaluation.json").read_text())
    assert report["metrics"]["synthetic"]["n"] > 0 and report["macs"] > 0
    floor = report["euler_mae_floor"]["synthetic"]
    assert 0 < floor["geodesic_1deg"] < floor["geodesic_3deg"]
    assert (kedro_project / "data" / "08_reporting" / "teacher_error_vs_angle.png").stat().st_size > 10_000

    client = mlflow.MlflowClient()
    run = max(
        mlflow.search_runs(experiment_names=["headpose"], output_format="list"),
        key=lambda r: r.info.start_time,
    )
    history = client.get_metric_history(run.info.run_id, "teacher.train.val_mae")
    assert [m.step for m in history] == [1, 2]
    assert run.data.metrics["teacher.synthetic.mae"] == report["metrics"]["synthetic"]["mae"]
