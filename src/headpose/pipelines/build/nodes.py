"""Build stage nodes: TensorRT engines from the ONNX set, or a recorded reason why not."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from headpose.deploy.tensorrt_build import BuildSettings, build_or_skip, metadata_path
from headpose.errors import ConfigError


def build_engines(onnx_models: dict[str, Path], build: dict[str, Any]) -> tuple[dict[str, bytes], dict[str, Any]]:
    """``{<engine>.engine: bytes, <engine>.engine.json: bytes}`` and a report with one entry per engine.

    Each entry is ``{"status": "built", ...metadata}`` or ``{"status": "skipped", "reason": ...}``
    (no TensorRT, no CUDA GPU, source ONNX not exported), never a fake engine.
    """
    settings = BuildSettings.from_dict(build["profile"])
    files, report = {}, {"engines": {}}
    with tempfile.TemporaryDirectory(prefix="headpose-build-") as tmp:
        for spec in build["engines"]:
            if set(spec) != {"name", "onnx", "precision"}:
                raise ConfigError(f"build.engines entry {spec}: needs exactly name, onnx, precision")
            engine = Path(tmp) / f"{spec['name']}.engine"
            result = build_or_skip(onnx_models.get(spec["onnx"]), engine, spec["precision"], settings,
                                   build["timing_cache"])
            del result["engine_path"]  # a temporary path; the engine lives in tensorrt_engines
            if result["status"] == "built":
                files[engine.name] = engine.read_bytes()
                files[metadata_path(engine).name] = metadata_path(engine).read_bytes()
            report["engines"][spec["name"]] = {**result, "onnx": spec["onnx"]}
    return files, report
