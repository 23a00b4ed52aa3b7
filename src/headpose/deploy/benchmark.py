"""Benchmark every deployable artifact the same way: latency, throughput, size, compute, accuracy.

One row per artifact (PyTorch checkpoint on CPU, ONNX Runtime FP32/INT8, TensorRT engine, PyTorch
CUDA), with the schema of ``ROW_FIELDS``. Latency is per call at batch 1 after warm-up, with a fixed
number of threads; throughput is images/s at each batch size within a small time budget; accuracy
is the MAE on the synthetic test split and on the real test set when one is configured. An artifact
that cannot run here (no TensorRT, no GPU, file missing) is a row with ``skipped`` set to the reason.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from tqdm.auto import tqdm

from headpose.config import Config, knob
from headpose.data.faceset import FaceSet
from headpose.data.preprocess import to_model_input
from headpose.deploy.runnables import Runnable
from headpose.errors import ConfigError
from headpose.evaluation import as_mlflow_metrics, faceset_mae, latency_vs_mae_figure
from headpose.timing import measure_latency, measure_throughput

ROW_FIELDS = (
    "name",
    "backend",
    "precision",
    "path",
    "source",
    "input_size",
    "threads",
    "params",
    "macs",
    "size_bytes",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "mean_ms",
    "throughput",
    "mae_synthetic",
    "mae_real",
    "skipped",
)


@dataclass(frozen=True)
class BenchmarkSettings(Config, section="benchmark.settings"):
    threads: int = knob(1, lo=1)  # intra-op threads while timing (1: the per-core figure)
    eval_threads: int | None = knob(None, lo=1)  # threads while measuring accuracy (None: library default)
    warmup: int = knob(5, lo=0)
    repeats: int = knob(50, lo=1)  # timed batch-1 calls for the latency percentiles
    batch_sizes: tuple[int, ...] = knob((1, 8, 32, 128), lo=1)
    throughput_seconds: float = knob(0.3, lo=0.0)  # time budget per batch size (at least one timed call)

    def check(self) -> None:
        if not self.batch_sizes:
            raise self.problem("batch_sizes", "needs at least one batch size")


@dataclass(frozen=True)
class CudaBenchmarkConfig(Config, section="benchmark.cuda"):
    """PyTorch CUDA rows (skipped with the reason where no GPU is visible)."""

    models: tuple[str, ...] = ()  # export.models names of checkpoints
    precision: str = "fp16"
    streams: int = knob(2, lo=1)
    compile: bool = False  # torch.compile (slow first call; worth it for long-running servers)
    cuda_graphs: bool = True  # one CUDA graph per batch size: removes launch overhead at batch 1


@dataclass(frozen=True)
class BenchmarkConfig(Config, section="benchmark"):
    settings: BenchmarkSettings = field(default_factory=BenchmarkSettings)
    cuda: CudaBenchmarkConfig = field(default_factory=CudaBenchmarkConfig)


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    import torch

    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def input_batch(faceset: FaceSet, input_size: int, batch_size: int) -> np.ndarray:
    """``batch_size`` real test crops as model input, repeating the set when it is smaller."""
    if not len(faceset):
        raise ConfigError("benchmark needs a non-empty test set for its inputs")
    return to_model_input(faceset.images[np.arange(batch_size) % len(faceset)], input_size)


def project_relative(path: Path | None) -> str | None:
    """``path`` relative to the working directory (the project root under Kedro) when inside it."""
    if path is None:
        return None
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def skipped_row(runnable: Runnable, reason: str) -> dict[str, Any]:
    row = dict.fromkeys(ROW_FIELDS)
    row.update(
        name=runnable.name,
        backend=runnable.backend,
        precision=runnable.precision,
        path=project_relative(runnable.path),
        source=runnable.source,
        params=runnable.params,
        macs=runnable.macs,
        skipped=reason,
    )
    row["size_bytes"] = runnable.size_bytes
    if runnable.path and runnable.path.is_file():
        row["size_bytes"] = runnable.path.stat().st_size
    return row


def benchmark_runnable(
    runnable: Runnable, test: FaceSet, real_test: FaceSet, settings: BenchmarkSettings
) -> dict[str, Any]:
    """One benchmark row (see ROW_FIELDS); a runnable with ``skipped`` set gives a skipped row."""
    if runnable.skipped:
        return skipped_row(runnable, runnable.skipped)
    size = runnable.input_size
    with torch_threads(settings.threads):  # ONNX Runtime and TensorRT ignore it; their sessions set their own
        latency = measure_latency(
            runnable.predict, input_batch(test, size, 1), settings.warmup, settings.repeats
        )
        throughput = {
            str(b): measure_throughput(
                runnable.predict, input_batch(test, size, b), settings.throughput_seconds
            )
            for b in settings.batch_sizes
        }
    with torch_threads(settings.eval_threads):
        evaluate = runnable.eval_predict or runnable.predict
        mae_synthetic, mae_real = faceset_mae(evaluate, test, size), faceset_mae(evaluate, real_test, size)
    row = skipped_row(runnable, None)
    row.update(
        input_size=size,
        threads=settings.threads,
        **latency,
        throughput=throughput,
        mae_synthetic=mae_synthetic,
        mae_real=mae_real,
        skipped=None,
    )
    return row


def benchmark_all(
    runnables: list[Runnable], test: FaceSet, real_test: FaceSet, settings: BenchmarkSettings
) -> list[dict[str, Any]]:
    rows = []
    for runnable in tqdm(runnables, desc="benchmark", leave=False):
        rows.append(benchmark_runnable(runnable, test, real_test, settings))
    return rows


def _fmt(value: Any, scale: float = 1.0, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value / scale:.{digits}f}"


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table, one row per artifact; skipped artifacts show their reason."""
    batches = sorted({int(b) for row in rows for b in (row.get("throughput") or {})})
    header = (
        ["artifact", "backend", "precision", "params (M)", "MMACs", "size (MB)", "p50 ms", "p90 ms", "p99 ms"]
        + [f"img/s @{b}" for b in batches]
        + ["MAE synth (°)", "MAE real (°)", "skipped"]
    )
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        throughput = row.get("throughput") or {}
        cells = [
            row["name"],
            row["backend"],
            row["precision"],
            _fmt(row["params"], 1e6),
            _fmt(row["macs"], 1e6, 1),
            _fmt(row["size_bytes"], 1e6),
            _fmt(row["p50_ms"], digits=3),
            _fmt(row["p90_ms"], digits=3),
            _fmt(row["p99_ms"], digits=3),
        ]
        cells += [_fmt(throughput.get(str(b)), digits=0) for b in batches]
        cells += [_fmt(row["mae_synthetic"]), _fmt(row["mae_real"]), (row["skipped"] or "").replace("|", "/")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def benchmark_figure(rows: list[dict[str, Any]], title: str = "latency vs accuracy") -> Figure:
    """Batch-1 p50 latency against synthetic-test MAE, one point per measured artifact; the skipped
    ones are named below the plot."""
    measured = {r["name"]: r for r in rows if r["p50_ms"] is not None and r["mae_synthetic"] is not None}
    skipped = [r["name"] for r in rows if r["skipped"]]
    return latency_vs_mae_figure(
        measured,
        "p50_ms",
        "mae_synthetic",
        title,
        marker_key="backend",
        note=f"not measured here (see benchmark.md): {', '.join(skipped)}" if skipped else "",
    )


def mlflow_metrics(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """kedro-mlflow metrics ``<row>.<metric>`` for every measured number (the catalog adds a prefix)."""
    keys = ("p50_ms", "p90_ms", "p99_ms", "mae_synthetic", "mae_real", "size_bytes", "params", "macs")
    figures = {}
    for row in rows:
        throughput = {f"throughput_b{b}": v for b, v in (row.get("throughput") or {}).items()}
        figures[row["name"]] = {**{k: row.get(k) for k in keys}, **throughput}
    return as_mlflow_metrics(figures)
