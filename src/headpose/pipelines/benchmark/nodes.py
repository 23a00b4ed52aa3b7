"""Benchmark stage nodes: every artifact measured the same way, one table, one plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from headpose.data.faceset import FaceSet
from headpose.deploy.artifacts import ExportConfig
from headpose.deploy.benchmark import (
    BenchmarkConfig,
    benchmark_all,
    benchmark_figure,
    markdown_table,
    mlflow_metrics,
)
from headpose.deploy.runnables import collect_runnables


def benchmark_artifacts(
    test: FaceSet,
    real_test: FaceSet,
    onnx_models: dict[str, Path],
    onnx_report: dict[str, Any],
    engines: dict[str, Path],
    build_report: dict[str, Any],
    export: ExportConfig,
    benchmark: BenchmarkConfig,
    **checkpoints,
) -> tuple[list[dict], str, Figure, dict]:
    """Rows (benchmark.json), a Markdown table, the latency-vs-MAE plot and MLflow metrics.

    PyTorch checkpoints run on the CPU; every file of the ONNX set on ONNX Runtime; every engine
    of the build report on TensorRT; the configured models on PyTorch CUDA. What cannot run here
    is a row with ``skipped`` set to the reason.
    """
    runnables = collect_runnables(
        checkpoints, onnx_models, onnx_report, engines, build_report, export, benchmark
    )
    rows = benchmark_all(runnables, test, real_test, benchmark.settings)
    return rows, markdown_table(rows), benchmark_figure(rows), mlflow_metrics(rows)
