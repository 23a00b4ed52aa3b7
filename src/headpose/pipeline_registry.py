"""The DAG: one Kedro pipeline per stage (found under headpose/pipelines); ``__default__`` chains them."""

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

# Not in the default DAG: the distilled student trained without a teacher (run after `distill`).
NOT_IN_DEFAULT = ("distill_baseline",)


def register_pipelines() -> dict[str, Pipeline]:
    # Each stage is a namespace and a tag (kedro-viz draws it as one collapsible box; `--tags train`
    # selects it); its datasets keep their catalog names.
    pipelines = {
        name: Pipeline(pipe, namespace=name, prefix_datasets_with_namespace=False, tags=name)
        for name, pipe in find_pipelines(raise_errors=True).items()
        if name != "__default__"
    }
    pipelines["__default__"] = sum(
        (p for name, p in pipelines.items() if name not in NOT_IN_DEFAULT), Pipeline([])
    )
    return pipelines
