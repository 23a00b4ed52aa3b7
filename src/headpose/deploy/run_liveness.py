"""MLflow runs whose process was killed: tagged with their owner at start, closed by the next run.

A run killed with SIGKILL (or by the OOM killer) cannot end itself, so it would stay RUNNING
forever. Each run records ``headpose.host`` and ``headpose.pid``; a later run on the same host
ends every RUNNING run whose process no longer exists with status KILLED.
"""

from __future__ import annotations

import os
import socket

from headpose.io import pid_alive

HOST_TAG, PID_TAG = "headpose.host", "headpose.pid"


def tag_owner(client, run_id: str) -> None:
    """Record this process as the owner of ``run_id``."""
    client.set_tag(run_id, HOST_TAG, socket.gethostname())
    client.set_tag(run_id, PID_TAG, str(os.getpid()))


def end_dead_runs(client, experiment_ids: list[str]) -> list[str]:
    """End, as KILLED, the RUNNING runs of this host whose owner process is gone; their ids."""
    host, ended = socket.gethostname(), []
    for run in client.search_runs(experiment_ids, filter_string="attributes.status = 'RUNNING'"):
        tags = run.data.tags
        pid = tags.get(PID_TAG, "")
        if (
            tags.get(HOST_TAG) == host
            and pid.isdigit()
            and int(pid) != os.getpid()
            and not pid_alive(int(pid))
        ):
            client.set_terminated(run.info.run_id, status="KILLED")
            ended.append(run.info.run_id)
    return ended
