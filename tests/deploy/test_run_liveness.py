"""A run left RUNNING by a killed process is ended as KILLED; a live owner's run is left alone."""

import os

from mlflow import MlflowClient

from headpose.deploy.run_liveness import end_dead_runs, tag_owner


def test_runs_of_dead_processes_are_ended_and_live_ones_kept(tmp_path, dead_pid):
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlruns.db'}")
    experiment = client.create_experiment("headpose", artifact_location=str(tmp_path / "artifacts"))
    killed = client.create_run(experiment).info.run_id
    tag_owner(client, killed)
    client.set_tag(killed, "headpose.pid", dead_pid)  # as if that process had owned it and been killed
    alive = client.create_run(experiment).info.run_id
    tag_owner(client, alive)
    client.set_tag(alive, "headpose.pid", str(os.getppid()))
    untagged = client.create_run(experiment).info.run_id  # not ours to judge

    assert end_dead_runs(client, [experiment]) == [killed]
    assert client.get_run(killed).info.status == "KILLED"
    assert client.get_run(alive).info.status == client.get_run(untagged).info.status == "RUNNING"
