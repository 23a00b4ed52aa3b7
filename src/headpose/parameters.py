"""Every parameter block checked before a run does any work.

Each block is parsed by the config type its node uses, so a wrong type, an impossible value or an
unknown key fails in the first second, naming the key and the file it belongs in, instead of after
the stages before it have written their outputs. A top-level key that the base configuration does
not define (a typo such as ``synht``) is an error too.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from headpose.errors import ConfigError


def _validators() -> dict[str, Callable[[Mapping[str, Any]], object]]:
    """Section -> the parse its node does (imports deferred: they pull in torch)."""
    from headpose.compression.distillation import DistillConfig
    from headpose.compression.pruning import PruneConfig
    from headpose.compression.qat import QATConfig
    from headpose.compression.quantization import PTQConfig
    from headpose.data.augment import AugmentConfig
    from headpose.data.pseudolabel.config import PseudolabelConfig
    from headpose.data.splits import CalibrationConfig, SplitConfig
    from headpose.deploy.benchmark import BenchmarkSettings
    from headpose.deploy.registry import Gates
    from headpose.deploy.tensorrt_build import BuildSettings
    from headpose.synth.config import SynthConfig
    from headpose.synth.profiling.config import ProfileConfig
    from headpose.training.config import TrainConfig

    return {
        "synth": lambda p: SynthConfig.from_dict(p["synth"]),
        "augment": lambda p: AugmentConfig.from_dict(p["augment"]),
        "train": lambda p: TrainConfig.from_dict({**p["train"], "augment": p.get("augment")}),
        "split": lambda p: SplitConfig.from_dict(p["split"]),
        "calibration": lambda p: CalibrationConfig.from_dict(p["calibration"]),
        "pseudolabel": lambda p: PseudolabelConfig.from_dict(p["pseudolabel"]),
        "profile": lambda p: ProfileConfig.from_dict(p["profile"].get("render")),
        "prune": lambda p: PruneConfig.from_dict(p["prune"]),
        "distill": lambda p: DistillConfig.from_dict(p["distill"]),
        "quantize": lambda p: (PTQConfig.from_dict(p["quantize"]["ptq"]), QATConfig.from_dict(p["quantize"]["qat"])),
        "benchmark": lambda p: BenchmarkSettings.from_dict(p["benchmark"]["settings"]),
        "register": lambda p: Gates.from_dict(p["register"]["gates"]),
        "build": lambda p: BuildSettings.from_dict(p["build"]["profile"]),
    }


def check_parameters(params: Mapping[str, Any], known: Iterable[str],
                     files: Mapping[str, str] | None = None) -> None:
    """Raise ConfigError on the first bad block of ``params`` (the merged parameters of a run).

    ``known``: the valid top-level keys; ``files``: section -> the parameters file that holds it,
    named in the message.
    """
    known, files = set(known), dict(files or {})
    for key in params:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known sections: {sorted(known)}"
            raise ConfigError(f"parameters: unknown section {key!r}{hint}")
    for section, validate in _validators().items():
        if section not in params:
            continue
        where = f" (in {files[section]})" if section in files else ""
        try:
            validate(params)
        except ConfigError as exc:
            raise ConfigError(f"{exc}{where}") from exc
        except (KeyError, TypeError, AttributeError) as exc:  # a block of the wrong shape
            raise ConfigError(f"{section}: malformed block ({exc.__class__.__name__}: {exc}){where}") from exc
