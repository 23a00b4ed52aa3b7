"""Artifacts made ready to time: one Runnable per PyTorch checkpoint, ONNX file, TensorRT engine and
PyTorch CUDA model, or a Runnable with ``skipped`` set to why it cannot run here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from headpose.deploy.artifacts import ExportConfig, select
from headpose.errors import DatasetError
from headpose.evaluation import Predictor

# Row names are <artifact>_<suffix>, e.g. teacher_pytorch, student_int8_cpu_onnx, teacher_fp16_trt.
ROW_SUFFIX = {"pytorch": "pytorch", "onnxruntime": "onnx", "tensorrt": "trt", "pytorch-cuda": "cuda"}
BACKEND_OF_KIND = {"checkpoint": "pytorch", "onnx": "onnxruntime"}


def row_name(artifact: str, backend: str) -> str:
    return f"{artifact}_{ROW_SUFFIX[backend]}"


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
    size_bytes: int | None = None  # when there is no file to measure (in-memory checkpoint)


def checkpoint_size_bytes(checkpoint) -> int:
    """Bytes of the checkpoint as save_checkpoint writes it (spec + state_dict + meta)."""
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(
        {
            "spec": dict(checkpoint.model.spec),
            "state_dict": checkpoint.model.state_dict(),
            "meta": checkpoint.meta,
        },
        buffer,
    )
    return buffer.getbuffer().nbytes


def pytorch_runnable(name: str, checkpoint, path: str | Path | None = None) -> Runnable:
    """A Checkpoint on the CPU in FP32 (PyTorch eager); ``path`` is its file when known."""
    from headpose.evaluation import torch_predictor
    from headpose.flops import count_macs, count_params

    model, size = checkpoint.model, checkpoint.input_size
    return Runnable(
        name,
        "pytorch",
        "fp32",
        Path(path) if path else None,
        size,
        torch_predictor(model),
        None,
        count_params(model),
        count_macs(model, size),
        size_bytes=checkpoint_size_bytes(checkpoint),
    )


def onnx_param_count(path: str | Path) -> int:
    """Stored weights of an ONNX graph (initializer elements), for files without a PyTorch source."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    return int(sum(np.prod(init.dims, dtype=np.int64) for init in graph.initializer))


def onnx_runnable(
    name: str, path: str | Path, precision: str, threads: int, source: Runnable | None = None
) -> Runnable:
    """An ONNX file on ONNX Runtime (CPU): ``threads`` for timing, the library default for accuracy."""
    from headpose.deploy.runtime import onnx_predictor

    path = Path(path)
    timed = onnx_predictor(path, threads)
    evaluate = onnx_predictor(path, None)
    params = source.params if source else onnx_param_count(path)
    return Runnable(
        name,
        "onnxruntime",
        precision,
        path,
        timed.input_size,
        timed.predict,
        evaluate.predict,
        params,
        source.macs if source else None,
        source.name if source else None,
    )


def _from_source(source: Runnable | None) -> dict[str, Any]:
    return {
        "params": source.params if source else None,
        "macs": source.macs if source else None,
        "source": source.name if source else None,
    }


def tensorrt_runnable(
    name: str,
    engine_path: str | Path | None,
    onnx_path: str | Path | None,
    precision: str,
    build_status: dict[str, Any] | None,
    source: Runnable | None = None,
) -> Runnable:
    """A TensorRT engine, or a skipped row saying why (build skipped, no TensorRT, no GPU, stale engine)."""
    from headpose.deploy.tensorrt_build import EngineMismatchError, tensorrt_unavailable_reason

    runnable = Runnable(
        name, "tensorrt", precision, Path(engine_path) if engine_path else None, **_from_source(source)
    )
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


def cuda_runnable(
    name: str,
    checkpoint,
    precision: str = "fp16",
    streams: int = 2,
    compile: bool = False,
    cuda_graphs: bool = False,
    source: Runnable | None = None,
) -> Runnable:
    """A Checkpoint on a CUDA GPU with PyTorch (FP16 by default), or a skipped row on CPU-only machines."""
    from headpose.deploy.cuda_runtime import CudaPredictor, cuda_unavailable_reason

    runnable = Runnable(name, "pytorch-cuda", precision, None, checkpoint.input_size, **_from_source(source))
    runnable.skipped = cuda_unavailable_reason()
    if runnable.skipped is None:
        runnable.predict = CudaPredictor(checkpoint.model, precision, streams, compile, cuda_graphs).predict
    return runnable


def _onnx_runnables(
    onnx_models: dict[str, Path],
    onnx_report: dict[str, Any],
    export: ExportConfig,
    pytorch: dict[str, Runnable],
    threads: int,
) -> list[Runnable]:
    """Every file of the ONNX set, and a skipped row for each configured artifact export did not find."""
    runnables = []
    for name, entry in onnx_report["models"].items():
        if name not in onnx_models:
            raise DatasetError(
                f"onnx_models has no {name}.onnx although the export report lists it; rerun export"
            )
        runnables.append(
            onnx_runnable(
                row_name(name, "onnxruntime"),
                onnx_models[name],
                entry["precision"],
                threads,
                source=pytorch.get(entry["source"]),
            )
        )
    for item in onnx_report["missing"]:
        spec = export.spec(item["name"])
        backend = BACKEND_OF_KIND[spec.kind]
        runnables.append(
            Runnable(row_name(spec.name, backend), backend, spec.precision, None, skipped=item["reason"])
        )
    return runnables


def collect_runnables(
    checkpoints: dict[str, Any],
    onnx_models: dict[str, Path],
    onnx_report: dict[str, Any],
    engines: dict[str, Path],
    build_report: dict[str, Any],
    export: ExportConfig,
    benchmark,
) -> list[Runnable]:
    """PyTorch checkpoints on the CPU; every file of the ONNX set on ONNX Runtime; every engine of the
    build report on TensorRT; the configured models on PyTorch CUDA (``benchmark`` is the
    BenchmarkConfig)."""
    present, _ = select([s for s in export.models if s.kind == "checkpoint"], checkpoints, "benchmark")
    loaded = {spec.name: checkpoint for spec, checkpoint in present}
    pytorch = {name: pytorch_runnable(row_name(name, "pytorch"), ckpt) for name, ckpt in loaded.items()}
    runnables = [
        *pytorch.values(),
        *_onnx_runnables(onnx_models, onnx_report, export, pytorch, benchmark.settings.threads),
    ]
    exported = onnx_report["models"]
    for name, status in build_report["engines"].items():
        source = pytorch.get(exported.get(status["onnx"], {}).get("source"))
        onnx_path = onnx_models.get(status["onnx"])
        runnables.append(
            tensorrt_runnable(
                row_name(name, "tensorrt"), engines.get(name), onnx_path, status["precision"], status, source
            )
        )
    cuda = benchmark.cuda
    for name in (n for n in cuda.models if n in loaded):
        runnables.append(
            cuda_runnable(
                row_name(f"{name}_{cuda.precision}", "pytorch-cuda"),
                loaded[name],
                cuda.precision,
                cuda.streams,
                cuda.compile,
                cuda.cuda_graphs,
                pytorch[name],
            )
        )
    return runnables
