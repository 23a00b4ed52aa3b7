"""Build stage nodes: TensorRT engines from the ONNX set, or a recorded reason why not."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from headpose.deploy.tensorrt_build import BuildConfig, build_or_skip, metadata_path


def build_engines(
    onnx_models: dict[str, Path], build: BuildConfig
) -> tuple[dict[str, bytes], dict[str, Any]]:
    """``{<engine>.engine: bytes, <engine>.engine.json: bytes}`` and a report with one entry per engine.

    Each entry is ``{"status": "built", ...metadata}`` or ``{"status": "skipped", "reason": ...}``
    (no TensorRT, no CUDA GPU, source ONNX not exported), never a fake engine.
    """
    files, report = {}, {"engines": {}}
    with tempfile.TemporaryDirectory(prefix="headpose-build-") as tmp:
        for spec in build.engines:
            engine = Path(tmp) / f"{spec.name}.engine"
            result = build_or_skip(
                onnx_models.get(spec.onnx), engine, spec.precision, build.profile, build.timing_cache
            )
            del result["engine_path"]  # a temporary path; the engine lives in tensorrt_engines
            if result["status"] == "built":
                files[engine.name] = engine.read_bytes()
                files[metadata_path(engine).name] = metadata_path(engine).read_bytes()
            report["engines"][spec.name] = {**result, "onnx": spec.onnx}
    return files, report
