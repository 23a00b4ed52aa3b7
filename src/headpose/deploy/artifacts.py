"""Which artifacts the deploy stages handle: a list in parameters, matched against what exists.

Each entry names an artifact, its catalog entry (``dataset``), its kind and precision. Artifacts of
stages that are not part of the project (e.g. no ``prune`` stage registered) are reported as
missing; only an entry marked ``required`` makes their absence an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from headpose.config import Config, knob
from headpose.errors import DatasetError

KINDS = ("checkpoint", "onnx")


@dataclass(frozen=True)
class ArtifactSpec(Config, section="export.models"):
    name: str = ""  # required (the base Config has no required keys: empty means unset)
    dataset: str = ""  # required: its catalog entry
    kind: str = knob("checkpoint", choices=KINDS)
    precision: str = "fp32"
    required: bool = False
    source: str | None = None  # the PyTorch artifact an ONNX file was made from (for params/MACs)
    onnx: str | None = None  # catalog entry of a checkpoint's FP32 ONNX made by another stage (reused)

    def check(self) -> None:
        for key in ("name", "dataset"):
            if not getattr(self, key):
                raise self.problem(key, "required: every artifact needs a name and its catalog entry")


@dataclass(frozen=True)
class ExportConfig(Config, section="export"):
    """The ``export`` block: the artifacts the deploy stages handle and how FP32 ONNX is exported."""

    models: tuple[ArtifactSpec, ...] = ()
    opset: int | None = knob(None, lo=7)  # null: the exporter's current default
    simplify: bool = True  # onnxslim
    parity_images: int = knob(64, lo=1)  # real test crops compared between PyTorch and ONNX Runtime
    parity_tol_deg: float = knob(0.01, lo=0.0)  # max |angle difference|; export fails past it

    def check(self) -> None:
        names = [spec.name for spec in self.models]
        if len(set(names)) != len(names):
            raise self.problem("models", f"artifact names must be unique, got {names}")

    def spec(self, name: str) -> ArtifactSpec | None:
        return next((s for s in self.models if s.name == name), None)


def select(
    specs: tuple[ArtifactSpec, ...] | list[ArtifactSpec], available: dict[str, Any], where: str
) -> tuple[list[tuple[ArtifactSpec, Any]], list[dict[str, str]]]:
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
