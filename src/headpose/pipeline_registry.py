"""The DAG: one Kedro pipeline per stage (found under headpose/pipelines); ``__default__`` chains them."""

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

# Not in the default DAG: the distilled student trained without a teacher (run after `distill`).
NOT_IN_DEFAULT = ("distill_baseline",)


def register_pipelines() -> dict[str, Pipeline]:
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = sum((p for name, p in pipelines.items()
                                    if name not in (*NOT_IN_DEFAULT, "__default__")), Pipeline([]))
    return pipelines
