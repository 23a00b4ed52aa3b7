"""Model references: where the model a user names lives on disk.

A reference is a file (.onnx, .pt checkpoint, TensorRT .engine), ``pretrained`` or a registry URI
``models:/name@alias``:

- ``pretrained`` is the model shipped inside the package: ``headpose/pretrained/headpose.onnx``, its
  PyTorch checkpoint ``headpose.pt`` and ``NOTICE.md`` (where it comes from, its licence).
- ``models:/...`` is read from the MLflow registry the project is configured with: the
  ``server.mlflow_tracking_uri`` (and ``mlflow_registry_uri``) of ``conf/base/mlflow.yml``, with
  ``conf/local/mlflow.yml`` over it, in the project found by walking up from the working directory
  to a folder holding ``pyproject.toml`` and ``conf/``; ``MLFLOW_TRACKING_URI`` (and
  ``MLFLOW_REGISTRY_URI``) in the environment win. A relative sqlite path is relative to the project
  root, as kedro-mlflow reads it. Resolving never creates a database: a sqlite registry that does
  not exist is an error.

Loading what a reference points at is :mod:`headpose.deploy.runtime`'s job.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from headpose.errors import ConfigError, ModelError

PRETRAINED = "pretrained"
PRETRAINED_DIR = Path(__file__).resolve().parents[1] / "pretrained"
PRETRAINED_ONNX = PRETRAINED_DIR / "headpose.onnx"
PRETRAINED_CHECKPOINT = PRETRAINED_DIR / "headpose.pt"
PRETRAINED_NOTICE = PRETRAINED_DIR / "NOTICE.md"


def pretrained_path(kind: str = "onnx") -> Path:
    """The packaged model's ``.onnx`` (``kind="onnx"``) or ``.pt`` checkpoint (``kind="pt"``)."""
    path = {"onnx": PRETRAINED_ONNX, "pt": PRETRAINED_CHECKPOINT}[kind]
    if not path.is_file():
        raise ModelError(
            f"the pretrained model is not installed: {path} is missing; pass --model with an "
            ".onnx or .pt file or a models:/ registry URI"
        )
    return path


def find_project_root(start: str | Path | None = None) -> Path | None:
    """The nearest folder at or above ``start`` (default: the working directory) that holds both
    ``pyproject.toml`` and ``conf/``; None when there is none."""
    here = Path(start if start is not None else os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "conf").is_dir():
            return folder
    return None


_ENV_REF = re.compile(r"\$\{\s*env:\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:,\s*([^}]*))?\}")


def _interpolate_env(value: str, source: Path) -> str:
    """Resolve OmegaConf's ``${env:NAME,default}`` (the only interpolation kedro-mlflow configs use)."""

    def replace(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is None:
            raise ConfigError(
                f"{source}: mlflow_tracking_uri needs the environment variable {name}, which is not set"
            )
        return default.strip().strip("'\"")

    return _ENV_REF.sub(replace, value)


def _absolute_uri(uri: str, root: Path) -> str:
    """kedro-mlflow's reading of relative locations: relative to the project root."""
    if uri.startswith("sqlite:///"):
        path = uri[len("sqlite:///") :]
        return uri if path.startswith("/") or path == ":memory:" else f"sqlite:///{(root / path).resolve()}"
    if "://" not in uri and not uri.startswith("databricks"):
        path = Path(uri)
        return (path if path.is_absolute() else (root / path).resolve()).as_uri()
    return uri


def _server_config(root: Path) -> tuple[dict[str, str], list[Path]]:
    """The ``server`` URIs of conf/base, then conf/local mlflow.yml (local wins), and their files."""
    import yaml

    config: dict[str, str] = {}
    sources = []
    for env in ("base", "local"):
        path = root / "conf" / env / "mlflow.yml"
        if not path.is_file():
            continue
        try:
            raw = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: not a readable kedro-mlflow config ({exc})") from exc
        server = raw.get("server") if isinstance(raw, dict) else None
        if server is not None and not isinstance(server, dict):
            raise ConfigError(f"{path}: 'server' must be a mapping with mlflow_tracking_uri")
        for key in ("mlflow_tracking_uri", "mlflow_registry_uri"):
            if server and server.get(key) is not None:
                config[key] = _interpolate_env(str(server[key]), path)
                sources.append(path)
    return config, sources


def mlflow_uris(start: str | Path | None = None) -> tuple[str, str | None, str]:
    """(tracking URI, registry URI or None, where they came from) for ``models:/`` references."""
    root = find_project_root(start)
    config, sources = _server_config(root) if root is not None else ({}, [])
    tracking = os.environ.get("MLFLOW_TRACKING_URI") or config.get("mlflow_tracking_uri")
    registry = os.environ.get("MLFLOW_REGISTRY_URI") or config.get("mlflow_registry_uri")
    if "MLFLOW_TRACKING_URI" in os.environ:
        where = "the MLFLOW_TRACKING_URI environment variable"
    elif sources:
        where = str(sources[0])
    else:
        raise ConfigError(
            "models:/ references need an MLflow registry: run inside the project (its "
            "conf/base/mlflow.yml names it) or set MLFLOW_TRACKING_URI"
        )
    base = root if root is not None else Path.cwd()
    return _absolute_uri(tracking, base), (_absolute_uri(registry, base) if registry else None), where


def _check_store_exists(uri: str, where: str, ref: str) -> None:
    """A sqlite store that does not exist would be created by MLflow: refuse instead."""
    if uri.startswith("sqlite:///"):
        path = Path(uri[len("sqlite:///") :])
        if str(path) != ":memory:" and not path.is_file():
            raise ModelError(
                f"{ref}: the MLflow registry {path} (from {where}) does not exist; register a "
                "model first (kedro run --pipelines register) or set MLFLOW_TRACKING_URI"
            )
    elif uri.startswith("file:"):
        from urllib.parse import unquote, urlparse

        path = Path(unquote(urlparse(uri).path))
        if not path.is_dir():
            raise ModelError(f"{ref}: the MLflow store {path} (from {where}) does not exist")


@contextmanager
def _using_mlflow(tracking: str, registry: str | None) -> Iterator[None]:
    """MLflow's process-wide tracking and registry URIs set for the block, then restored exactly
    (MLflow resolves ``models:/`` through them whatever URIs its functions are given)."""
    import mlflow
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    names = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    saved_env = {name: os.environ.get(name) for name in names}
    saved = tracking_utils._tracking_uri, registry_utils._registry_uri
    mlflow.set_tracking_uri(tracking)
    mlflow.set_registry_uri(registry or tracking)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(saved[0])
        registry_utils._registry_uri = saved[1]
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _download_registered(ref: str) -> Path:
    tracking, registry, where = mlflow_uris()
    _check_store_exists(tracking, where, ref)
    if registry:
        _check_store_exists(registry, where, ref)
    import mlflow
    from mlflow.exceptions import MlflowException

    store = registry or tracking
    try:
        with _using_mlflow(tracking, registry):
            return Path(mlflow.artifacts.download_artifacts(artifact_uri=ref))
    except MlflowException as exc:
        first = (exc.message or str(exc)).strip().splitlines()[0]
        raise ModelError(f"{ref}: not found in the MLflow registry {store} (from {where}): {first}") from exc
    except OSError as exc:
        raise ModelError(f"{ref}: could not download from the MLflow registry {store}: {exc}") from exc


def resolve_model_uri(ref: str, prefer: str = ".onnx") -> Path:
    """Local path of a model reference (see the module docstring). A registered version or the
    pretrained folder may hold both an ONNX file and a checkpoint: ``prefer`` picks the suffix."""
    ref = str(ref)
    if ref == PRETRAINED:
        if prefer == ".pt" and PRETRAINED_CHECKPOINT.is_file():
            return PRETRAINED_CHECKPOINT
        return pretrained_path("onnx")
    if ref.startswith("models:/"):
        return _registered_file(ref, prefer)
    path = Path(ref)
    if not path.exists():
        hint = " (did you mean 'pretrained' or models:/...?)" if path.suffix == "" else ""
        raise ModelError(f"{path}: model file not found{hint}")
    if path.is_dir():
        raise ModelError(f"{path}: is a folder; pass the model file (.onnx, .pt or .engine)")
    return path


def _registered_file(ref: str, prefer: str) -> Path:
    """The downloaded file of a registered version: the ``prefer`` suffix first, else the other."""
    local = _download_registered(ref)
    if local.is_file():
        return local
    for suffix in [prefer] + [s for s in (".onnx", ".pt") if s != prefer]:
        candidates = sorted(local.rglob(f"*{suffix}"))
        if candidates:
            return candidates[0]
    raise ModelError(f"{ref}: registered model holds no .onnx or .pt file")


def sibling_checkpoint(onnx_path: str | Path) -> Path | None:
    """The checkpoint shipped with an ONNX file: ``headpose.pt`` beside the pretrained model, or
    ``checkpoint.pt`` beside a registered version's ONNX file (headpose's registry layout)."""
    onnx_path = Path(onnx_path)
    name = PRETRAINED_CHECKPOINT.name if onnx_path.parent == PRETRAINED_DIR else "checkpoint.pt"
    candidate = onnx_path.parent / name
    return candidate if candidate.is_file() else None
