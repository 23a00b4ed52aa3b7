"""Benchmark stage nodes: every artifact measured the same way, one table, one plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from headpose.data.faceset import FaceSet
from headpose.deploy.artifacts import parse_specs, select
from headpose.deploy.benchmark import (
    BenchmarkSettings,
    Runnable,
    benchmark_all,
    cuda_runnable,
    latency_vs_mae_figure,
    markdown_table,
    mlflow_metrics,
    onnx_runnable,
    pytorch_runnable,
    row_name,
    tensorrt_runnable,
)
from headpose.errors import DatasetError

BACKEND_OF_KIND = {"checkpoint": "pytorch", "onnx": "onnxruntime"}


def benchmark_artifacts(test: FaceSet, real_test: FaceSet, onnx_models: dict[str, Path], onnx_report: dict[str, Any],
                        engines: dict[str, Path], build_report: dict[str, Any], export: dict[str, Any],
                        benchmark: dict[str, Any], **checkpoints) -> tuple[list[dict], str, Figure, dict]:
    """Rows (benchmark.json), a Markdown table, the latency-vs-MAE plot and MLflow metrics.

    PyTorch checkpoints run on the CPU; every file of the ONNX set on ONNX Runtime; every engine
    of the build report on TensorRT; the configured models on PyTorch CUDA. What cannot run here
    is a row with ``skipped`` set to the reason.
    """
    settings = BenchmarkSettings.from_dict(benchmark["settings"])
    specs = parse_specs(export["models"], "export.models")
    present, _ = select([s for s in specs if s.kind == "checkpoint"], checkpoints, "benchmark")
    loaded = {spec.name: checkpoint for spec, checkpoint in present}
    pytorch = {name: pytorch_runnable(row_name(name, "pytorch"), ckpt) for name, ckpt in loaded.items()}
    runnables: list[Runnable] = list(pytorch.values())

    exported = onnx_report["models"]
    for name, entry in exported.items():
        if name not in onnx_models:
            raise DatasetError(f"onnx_models has no {name}.onnx although the export report lists it; rerun export")
        runnables.append(onnx_runnable(row_name(name, "onnxruntime"), onnx_models[name], entry["precision"],
                                       settings.threads, source=pytorch.get(entry["source"])))
    by_name = {spec.name: spec for spec in specs}
    for item in onnx_report["missing"]:  # configured but absent: reported as skipped rows
        spec = by_name[item["name"]]
        backend = BACKEND_OF_KIND[spec.kind]
        runnables.append(Runnable(row_name(spec.name, backend), backend, spec.precision, None,
                                  skipped=item["reason"]))

    for name, status in build_report["engines"].items():
        source = pytorch.get(exported.get(status["onnx"], {}).get("source"))
        runnables.append(tensorrt_runnable(row_name(name, "tensorrt"), engines.get(name),
                                           onnx_models.get(status["onnx"]), status["precision"], status, source))

    cuda = dict(benchmark["cuda"])
    for name in cuda.pop("models"):
        if name in loaded:
            runnables.append(cuda_runnable(row_name(f"{name}_{cuda['precision']}", "pytorch-cuda"), loaded[name],
                                           source=pytorch[name], **cuda))

    rows = benchmark_all(runnables, test, real_test, settings)
    return rows, markdown_table(rows), latency_vs_mae_figure(rows), mlflow_metrics(rows)
