"""Which artifacts the deploy stages handle: a list in parameters, matched against what exists.

Each entry names an artifact, its catalog entry (``dataset``), its kind and precision. Artifacts of
stages that are not part of the project (e.g. no ``prune`` stage registered) are reported as
missing; only an entry marked ``required`` makes their absence an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from headpose.errors import ConfigError, DatasetError

KINDS = ("checkpoint", "onnx")


@dataclass(frozen=True)
class ArtifactSpec:
    name: str
    dataset: str
    kind: str = "checkpoint"
    precision: str = "fp32"
    required: bool = False
    source: str | None = None   # the PyTorch artifact an ONNX file was made from (for params/MACs)
    onnx: str | None = None     # catalog entry of a checkpoint's FP32 ONNX made by another stage (reused)


def parse_specs(entries: list[dict[str, Any]], where: str) -> list[ArtifactSpec]:
    specs = []
    for i, entry in enumerate(entries or []):
        unknown = set(entry) - set(ArtifactSpec.__dataclass_fields__)
        if unknown or "name" not in entry or "dataset" not in entry:
            raise ConfigError(f"{where}[{i}] = {entry}: need name and dataset; allowed keys "
                              f"{sorted(ArtifactSpec.__dataclass_fields__)}")
        spec = ArtifactSpec(**entry)
        if spec.kind not in KINDS:
            raise ConfigError(f"{where}[{i}]: kind {spec.kind!r} is not one of {KINDS}")
        specs.append(spec)
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: artifact names must be unique, got {names}")
    return specs


def select(specs: list[ArtifactSpec], available: dict[str, Any],
           where: str) -> tuple[list[tuple[ArtifactSpec, Any]], list[dict[str, str]]]:
    """(spec, loaded value) for every configured artifact present, and a report of the missing ones.

    ``available`` maps catalog entries wired into the node to their loaded values.
    """
    present, missing = [], []
    for spec in specs:
        if spec.dataset not in available:
            reason = f"catalog entry {spec.dataset!r} is not produced by any registered pipeline"
        elif available[spec.dataset] is None:
            reason = f"catalog entry {spec.dataset!r} holds no data"
        else:
            present.append((spec, available[spec.dataset]))
            continue
        if spec.required:
            raise DatasetError(f"{where}: required artifact {spec.name!r} is missing: {reason}")
        missing.append({"name": spec.name, "dataset": spec.dataset, "reason": reason})
    return present, missing
