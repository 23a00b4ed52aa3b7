"""The DAG: one Kedro pipeline per stage; ``__default__`` chains them all."""

from kedro.pipeline import Pipeline

from headpose.pipelines import (
    benchmark,
    build,
    data,
    distill,
    distill_baseline,
    export,
    profile,
    prune,
    pseudolabel,
    quantize,
    register,
    train,
)

# Stage order is the DAG order; dvc.yaml has one stage per entry.
STAGES = {
    "pseudolabel": pseudolabel.create_pipeline,
    "profile": profile.create_pipeline,
    "data": data.create_pipeline,
    "train": train.create_pipeline,
    "prune": prune.create_pipeline,
    "distill": distill.create_pipeline,
    "quantize": quantize.create_pipeline,
    "export": export.create_pipeline,
    "build": build.create_pipeline,
    "benchmark": benchmark.create_pipeline,
    "register": register.create_pipeline,
}


def register_pipelines() -> dict[str, Pipeline]:
    pipelines = {name: create() for name, create in STAGES.items()}
    pipelines["__default__"] = sum(pipelines.values(), Pipeline([]))
    # Not in the default DAG: the same student trained without a teacher (run after `distill`).
    pipelines["distill_baseline"] = distill_baseline.create_pipeline()
    return pipelines
