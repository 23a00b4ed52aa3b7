"""Benchmark every deployable artifact the same way: latency, throughput, size, compute, accuracy.

One row per artifact (PyTorch checkpoint on CPU, ONNX Runtime FP32/INT8, TensorRT engine, PyTorch
CUDA), with the schema of ``ROW_FIELDS``. Latency is per call at batch 1 after warm-up, with a fixed
number of threads; throughput is images/s at each batch size within a small time budget; accuracy
is the MAE on the synthetic test split and on the real test set when one is configured. An artifact
that cannot run here (no TensorRT, no GPU, file missing) is a row with ``skipped`` set to the reason.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from tqdm.auto import tqdm

from headpose.data.faceset import FaceSet
from headpose.data.preprocess import to_model_input
from headpose.errors import ConfigError, reject_unknown_keys
from headpose.evaluation import Predictor, faceset_mae
from headpose.timing import latency_ms, time_calls

ROW_FIELDS = ("name", "backend", "precision", "path", "source", "input_size", "threads", "params", "macs",
              "size_bytes", "p50_ms", "p90_ms", "p99_ms", "mean_ms", "throughput", "mae_synthetic", "mae_real",
              "skipped")

# Row names are <artifact>_<suffix>, e.g. teacher_pytorch, student_int8_cpu_onnx, teacher_fp16_trt.
ROW_SUFFIX = {"pytorch": "pytorch", "onnxruntime": "onnx", "tensorrt": "trt", "pytorch-cuda": "cuda"}


def row_name(artifact: str, backend: str) -> str:
    return f"{artifact}_{ROW_SUFFIX[backend]}"


@dataclass(frozen=True)
class BenchmarkSettings:
    threads: int = 1                       # intra-op threads while timing (1: the per-core figure)
    eval_threads: int | None = None        # threads while measuring accuracy (None: library default)
    warmup: int = 5
    repeats: int = 50                      # timed batch-1 calls for the latency percentiles
    batch_sizes: tuple[int, ...] = (1, 8, 32, 128)
    throughput_seconds: float = 0.3        # time budget per batch size (at least one timed call)

    def __post_init__(self) -> None:
        if self.threads < 1 or self.warmup < 0 or self.repeats < 1 or not self.batch_sizes:
            raise ConfigError(f"benchmark settings out of range: {self}")
        if any(b < 1 for b in self.batch_sizes):
            raise ConfigError(f"benchmark batch_sizes must be positive, got {self.batch_sizes}")

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> BenchmarkSettings:
        reject_unknown_keys("benchmark.settings", params, cls)
        params = dict(params)
        if "batch_sizes" in params:
            params["batch_sizes"] = tuple(int(b) for b in params["batch_sizes"])
        return cls(**params)


@dataclass
class Runnable:
    """An artifact ready to time: a predictor for timing and one for accuracy (may be the same)."""

    name: str
    backend: str
    precision: str
    path: Path | None
    input_size: int | None = None
    predict: Predictor | None = None
    eval_predict: Predictor | None = None
    params: int | None = None
    macs: int | None = None
    source: str | None = None
    skipped: str | None = None
    size_bytes: int | None = None          # when there is no file to measure (in-memory checkpoint)


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


def measure_latency(predict: Predictor, batch: np.ndarray, warmup: int, repeats: int) -> dict[str, float]:
    """Percentiles of the wall time of ``predict(batch)`` over ``repeats`` calls after ``warmup`` calls."""
    return latency_ms(time_calls(lambda: predict(batch), repeats, warmup))


def measure_throughput(predict: Predictor, batch: np.ndarray, seconds: float) -> float:
    """Images/s of ``predict(batch)``: one warm-up call, then calls until ``seconds`` have passed."""
    predict(batch)
    calls, start = 0, time.perf_counter()
    while True:
        predict(batch)
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return calls * len(batch) / elapsed


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
    row.update(name=runnable.name, backend=runnable.backend, precision=runnable.precision,
               path=project_relative(runnable.path), source=runnable.source, params=runnable.params,
               macs=runnable.macs, skipped=reason)
    row["size_bytes"] = runnable.size_bytes
    if runnable.path and runnable.path.is_file():
        row["size_bytes"] = runnable.path.stat().st_size
    return row


def benchmark_runnable(runnable: Runnable, test: FaceSet, real_test: FaceSet,
                       settings: BenchmarkSettings) -> dict[str, Any]:
    """One benchmark row (see ROW_FIELDS); a runnable with ``skipped`` set gives a skipped row."""
    if runnable.skipped:
        return skipped_row(runnable, runnable.skipped)
    size = runnable.input_size
    with torch_threads(settings.threads):  # ONNX Runtime and TensorRT ignore it; their sessions set their own
        latency = measure_latency(runnable.predict, input_batch(test, size, 1), settings.warmup, settings.repeats)
        throughput = {str(b): measure_throughput(runnable.predict, input_batch(test, size, b),
                                                 settings.throughput_seconds) for b in settings.batch_sizes}
    with torch_threads(settings.eval_threads):
        evaluate = runnable.eval_predict or runnable.predict
        mae_synthetic, mae_real = faceset_mae(evaluate, test, size), faceset_mae(evaluate, real_test, size)
    row = skipped_row(runnable, None)
    row.update(input_size=size, threads=settings.threads, **latency, throughput=throughput,
               mae_synthetic=mae_synthetic, mae_real=mae_real, skipped=None)
    return row


def benchmark_all(runnables: list[Runnable], test: FaceSet, real_test: FaceSet,
                  settings: BenchmarkSettings) -> list[dict[str, Any]]:
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
    header = (["artifact", "backend", "precision", "params (M)", "MMACs", "size (MB)", "p50 ms", "p90 ms", "p99 ms"]
              + [f"img/s @{b}" for b in batches] + ["MAE synth (°)", "MAE real (°)", "skipped"])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        throughput = row.get("throughput") or {}
        cells = [row["name"], row["backend"], row["precision"], _fmt(row["params"], 1e6), _fmt(row["macs"], 1e6, 1),
                 _fmt(row["size_bytes"], 1e6), _fmt(row["p50_ms"], digits=3), _fmt(row["p90_ms"], digits=3),
                 _fmt(row["p99_ms"], digits=3)]
        cells += [_fmt(throughput.get(str(b)), digits=0) for b in batches]
        cells += [_fmt(row["mae_synthetic"]), _fmt(row["mae_real"]), (row["skipped"] or "").replace("|", "/")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def latency_vs_mae_figure(rows: list[dict[str, Any]], title: str = "latency vs accuracy") -> Figure:
    """Scatter of batch-1 p50 latency against synthetic-test MAE, one labelled point per measured artifact."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    measured = [r for r in rows if r["p50_ms"] is not None and r["mae_synthetic"] is not None]
    markers = {"pytorch": "o", "onnxruntime": "s", "tensorrt": "^", "pytorch-cuda": "D"}
    for row in measured:
        ax.scatter(row["p50_ms"], row["mae_synthetic"], marker=markers.get(row["backend"], "x"), s=50,
                   label=f"{row['backend']}")
        ax.annotate(f"{row['name']}", (row["p50_ms"], row["mae_synthetic"]), textcoords="offset points",
                    xytext=(5, 4), fontsize=8)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    if unique:
        ax.legend(unique.values(), unique.keys(), loc="best", fontsize=8)
    if measured and min(r["p50_ms"] for r in measured) > 0:
        ax.set_xscale("log")
    ax.set_xlabel("p50 latency at batch 1 (ms, log scale)")
    ax.set_ylabel("MAE on the synthetic test split (deg)")
    skipped = [r["name"] for r in rows if r["skipped"]]
    ax.set_title(title + (f"\nskipped: {', '.join(skipped)}" if skipped else ""), fontsize=10)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


def mlflow_metrics(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """kedro-mlflow metrics ``<row>.<metric>`` for every measured number (the catalog adds a prefix)."""
    metrics = {}
    for row in rows:
        for key in ("p50_ms", "p90_ms", "p99_ms", "mae_synthetic", "mae_real", "size_bytes", "params", "macs"):
            if row.get(key) is not None:
                metrics[f"{row['name']}.{key}"] = {"value": float(row[key]), "step": 0}
        for batch, value in (row.get("throughput") or {}).items():
            metrics[f"{row['name']}.throughput_b{batch}"] = {"value": float(value), "step": 0}
    return metrics


# ---- artifacts -> runnables --------------------------------------------------------------------

def checkpoint_size_bytes(checkpoint) -> int:
    """Bytes of the checkpoint as save_checkpoint writes it (spec + state_dict + meta)."""
    import io

    import torch

    buffer = io.BytesIO()
    torch.save({"spec": dict(checkpoint.model.spec), "state_dict": checkpoint.model.state_dict(),
                "meta": checkpoint.meta}, buffer)
    return buffer.getbuffer().nbytes


def pytorch_runnable(name: str, checkpoint, path: str | Path | None = None) -> Runnable:
    """A Checkpoint on the CPU in FP32 (PyTorch eager); ``path`` is its file when known."""
    from headpose.evaluation import torch_predictor
    from headpose.flops import count_macs, count_params

    model, size = checkpoint.model, checkpoint.input_size
    return Runnable(name, "pytorch", "fp32", Path(path) if path else None, size, torch_predictor(model), None,
                    count_params(model), count_macs(model, size), size_bytes=checkpoint_size_bytes(checkpoint))


def onnx_param_count(path: str | Path) -> int:
    """Stored weights of an ONNX graph (initializer elements), for files without a PyTorch source."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    return int(sum(np.prod(init.dims, dtype=np.int64) for init in graph.initializer))


def onnx_runnable(name: str, path: str | Path, precision: str, threads: int,
                  source: Runnable | None = None) -> Runnable:
    """An ONNX file on ONNX Runtime (CPU): ``threads`` for timing, the library default for accuracy."""
    from headpose.deploy.runtime import onnx_predictor

    path = Path(path)
    timed = onnx_predictor(path, threads)
    evaluate = onnx_predictor(path, None)
    params = source.params if source else onnx_param_count(path)
    return Runnable(name, "onnxruntime", precision, path, timed.input_size, timed.predict, evaluate.predict,
                    params, source.macs if source else None, source.name if source else None)


def tensorrt_runnable(name: str, engine_path: str | Path | None, onnx_path: str | Path | None, precision: str,
                      build_status: dict[str, Any] | None, source: Runnable | None = None) -> Runnable:
    """A TensorRT engine, or a skipped row saying why (build skipped, no TensorRT, no GPU, stale engine)."""
    from headpose.deploy.tensorrt_build import EngineMismatchError, tensorrt_unavailable_reason

    runnable = Runnable(name, "tensorrt", precision, Path(engine_path) if engine_path else None,
                        params=source.params if source else None, macs=source.macs if source else None,
                        source=source.name if source else None)
    reason = (build_status or {}).get("reason") if (build_status or {}).get("status") == "skipped" else None
    reason = reason or tensorrt_unavailable_reason()
    if reason is None and (engine_path is None or not Path(engine_path).is_file()):
        reason = f"engine {engine_path} was not built"
    if reason is None:
        from headpose.deploy.tensorrt_runtime import TensorRTEngine

        try:
            engine = TensorRTEngine(engine_path, onnx_path)
        except EngineMismatchError as exc:
            reason = str(exc)
        else:
            runnable.input_size, runnable.predict = engine.input_size, engine.predict
    runnable.skipped = reason
    return runnable


def cuda_runnable(name: str, checkpoint, precision: str = "fp16", streams: int = 2, compile: bool = False,
                  cuda_graphs: bool = False, source: Runnable | None = None) -> Runnable:
    """A Checkpoint on a CUDA GPU with PyTorch (FP16 by default), or a skipped row on CPU-only machines."""
    from headpose.deploy.cuda_runtime import CudaPredictor, cuda_unavailable_reason

    runnable = Runnable(name, "pytorch-cuda", precision, None, checkpoint.input_size,
                        params=source.params if source else None, macs=source.macs if source else None,
                        source=source.name if source else None)
    runnable.skipped = cuda_unavailable_reason()
    if runnable.skipped is None:
        runnable.predict = CudaPredictor(checkpoint.model, precision, streams, compile, cuda_graphs).predict
    return runnable
